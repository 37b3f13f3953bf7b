using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>A remote that goes away: the wait times out naming it, and it converges when it comes back.</summary>
public sealed class OutageTests
{
    [Fact]
    public async Task Waiting_on_an_unreachable_remote_times_out_naming_it_and_it_converges_once_back()
    {
        await using var setup = await MirrorSetup.StartAsync("mo");
        using var server = SshServer.Start(setup.Temp.Combine("sshd"));
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        var local = setup.Temp.CreateDirectory("local");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", server, mirror, "flaky");
        await setup.ConnectLocalAsync("web", local);

        server.Stop();
        File.WriteAllText(Path.Combine(workspace, "during-the-cut"), "x");
        var error = await Assert.ThrowsAsync<WsyncException>(() => setup.WaitAsync("web", TimeSpan.FromSeconds(3)));

        Assert.Equal(ErrorIds.WaitTimeout, error.ErrorId);
        Assert.Equal(WsyncErrorCategory.OperationTimeout, error.Category);
        Assert.Contains("flaky", error.Message);
        Assert.DoesNotContain("local (", error.Message);
        Assert.True(File.Exists(Path.Combine(local, "during-the-cut")), "the healthy remote was held back");
        var flaky = await setup.RemoteAsync("web", "flaky");
        Assert.Contains(flaky.State, new[] { RemoteState.Retrying, RemoteState.Connecting, RemoteState.Syncing });
        Assert.NotNull(flaky.LastError);

        server.Resume();
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
        Assert.Equal(RemoteState.InSync, (await setup.RemoteAsync("web", "flaky")).State);
    }
}

[CollectionDefinition(nameof(InotifyLimitCollection), DisableParallelization = true)]
public sealed class InotifyLimitCollection;

/// <summary>An event flood that overflows the kernel's queue: the monitor reconciles and converges.</summary>
[Collection(nameof(InotifyLimitCollection))]
public sealed class OverflowTests
{
    private const string QueueLimit = "/proc/sys/fs/inotify/max_queued_events";

    [Fact]
    public async Task An_event_flood_that_overflows_the_queue_still_converges()
    {
        await using var setup = await MirrorSetup.StartAsync("mf");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        var original = File.ReadAllText(QueueLimit).Trim();
        var canLower = Environment.UserName == "root";
        if (canLower)
        {
            // A tiny queue for the monitor's inotify instance only: the limit is read when it is created.
            File.WriteAllText(QueueLimit, "16");
        }

        try
        {
            await setup.AddWorkspaceAsync(workspace);
            await Poll.UntilAsync(async () => (await setup.Client.Call(setup.Api.GetWorkspacesAsync(CancellationToken.None))).Single().WatchedDirectories > 0,
                MirrorSetup.Deadline, "the monitor to watch");
        }
        finally
        {
            if (canLower)
            {
                File.WriteAllText(QueueLimit, original);
            }
        }

        await setup.ConnectLocalAsync("web", mirror);
        for (var d = 0; d < 40; d++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(workspace, $"d{d}")).FullName;
            for (var f = 0; f < 100; f++)
            {
                File.WriteAllText(Path.Combine(directory, $"f{f}"), $"{d}/{f}");
            }

            if (d % 4 == 0)
            {
                Directory.Move(directory, directory + "-moved");
            }
        }

        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
        if (canLower)
        {
            var log = string.Join('\n', Directory.GetFiles(Path.Combine(setup.Daemon.Home, "logs"), "monitor-*").Select(File.ReadAllText));
            Assert.Contains("overflowed", log);
        }
    }
}
