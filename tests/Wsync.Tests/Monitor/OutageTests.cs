using Wsync.TestSupport;
using Xunit.Abstractions;

namespace Wsync.Tests.Monitor;

/// <summary>A remote that goes away: it retries, the others keep up, a wait names it, and it converges once back.</summary>
public sealed class OutageTests(ITestOutputHelper output)
{
    /// <summary>How long the ssh remote is cut (issue 5): past the point where the loop's backoff reaches its 30 s cap.</summary>
    private static readonly TimeSpan Cut = TimeSpan.FromSeconds(30);

    /// <summary>How long the healthy remote may take to catch up with the changes while the other is cut.</summary>
    private static readonly TimeSpan KeepUp = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_remote_cut_for_30_s_retries_while_the_others_keep_up_and_converges_exactly_once_back()
    {
        await using var setup = await MirrorSetup.StartAsync("mo");
        using var server = SshServer.Start(setup.Temp.Combine("sshd"));
        var workspace = setup.Temp.CreateDirectory("web");
        for (var d = 0; d < 10; d++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(workspace, $"d{d}")).FullName;
            for (var f = 0; f < 60; f++)
            {
                File.WriteAllText(Path.Combine(directory, $"f{f}"), $"before {d}/{f}");
            }
        }

        var mirror = setup.Temp.CreateDirectory("mirror");
        var local = setup.Temp.CreateDirectory("local");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", server, mirror, "flaky");
        await setup.ConnectLocalAsync("web", local, "local");

        var cut = System.Diagnostics.Stopwatch.StartNew();
        server.Stop(); // sshd and every session it spawned, by pid: the master and any armed rsync lose their connection
        var changed = System.Diagnostics.Stopwatch.StartNew();
        var count = MakeThousandChanges(workspace);
        var made = changed.Elapsed;
        await Poll.UntilAsync(() => Task.FromResult(MirrorsNow(workspace, local)), KeepUp, "the local remote to keep up");
        var keptUp = changed.Elapsed;
        output.WriteLine($"{count} changes made in {made.TotalMilliseconds:0} ms; the local remote mirrored them " +
            $"{keptUp.TotalMilliseconds:0} ms after the first ({(keptUp - made).TotalMilliseconds:0} ms after the last), with the ssh remote cut");

        RemoteStatusView? flaky = null;
        await Poll.UntilAsync(async () =>
        {
            var remote = await setup.RemoteAsync("web", "flaky");
            flaky = new RemoteStatusView(remote.State, remote.LastError);
            return remote.State == RemoteState.Retrying && remote.LastError is not null;
        }, KeepUp, "the cut remote to report Retrying with its error");
        output.WriteLine($"the cut remote: {flaky}");
        var error = await Assert.ThrowsAsync<WsyncException>(() => setup.WaitAsync("web", TimeSpan.FromSeconds(1)));
        Assert.Equal(ErrorIds.WaitTimeout, error.ErrorId);
        Assert.Equal(WsyncErrorCategory.OperationTimeout, error.Category);
        Assert.Contains("flaky (", error.Message);
        Assert.DoesNotContain("local (", error.Message);
        Assert.True(cut.Elapsed < Cut, $"the checks during the cut took {cut.Elapsed}: longer than the cut itself");

        await Task.Delay(Cut - cut.Elapsed); // the outage itself, not a synchronisation
        server.Resume();
        var back = System.Diagnostics.Stopwatch.StartNew();
        await setup.WaitAsync("web", TimeSpan.FromSeconds(75));
        output.WriteLine($"the ssh remote converged {back.Elapsed.TotalMilliseconds:0} ms after sshd came back");

        MirrorSetup.AssertMirrored(workspace, mirror);
        MirrorSetup.AssertMirrored(workspace, local);
        var healed = await setup.RemoteAsync("web", "flaky");
        Assert.Equal(RemoteState.InSync, healed.State);
        Assert.Null(healed.LastError);
    }

    /// <summary>1,000 changes: 400 creates (four new directories), 300 modifies (some made executable), 240 deletes, 59 file renames and a directory rename.</summary>
    private static int MakeThousandChanges(string workspace)
    {
        var count = 0;
        for (var n = 0; n < 4; n++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(workspace, $"new{n}")).FullName;
            for (var f = 0; f < 100; f++, count++)
            {
                File.WriteAllText(Path.Combine(directory, $"f{f}"), $"created {n}/{f}");
            }
        }

        for (var d = 0; d < 5; d++)
        {
            for (var f = 0; f < 60; f++, count++)
            {
                var file = Path.Combine(workspace, $"d{d}", $"f{f}");
                File.WriteAllText(file, $"modified {d}/{f} with more content");
                if (f % 10 == 0)
                {
                    File.SetUnixFileMode(file, File.GetUnixFileMode(file) | UnixFileMode.UserExecute);
                }
            }
        }

        for (var d = 5; d < 9; d++)
        {
            for (var f = 0; f < 60; f++, count++)
            {
                File.Delete(Path.Combine(workspace, $"d{d}", $"f{f}"));
            }
        }

        for (var f = 0; f < 59; f++, count++)
        {
            File.Move(Path.Combine(workspace, "d9", $"f{f}"), Path.Combine(workspace, "d9", $"renamed{f}"));
        }

        Directory.Move(Path.Combine(workspace, "d9"), Path.Combine(workspace, "d9-renamed"));
        return count + 1;
    }

    /// <summary>Whether <paramref name="mirror"/> equals <paramref name="workspace"/> now; false while rsync is still changing it under the scan.</summary>
    private static bool MirrorsNow(string workspace, string mirror)
    {
        try
        {
            return TreeSnapshot.Compare(workspace, mirror).Count == 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private sealed record RemoteStatusView(RemoteState State, string? LastError);
}

[CollectionDefinition(nameof(InotifyLimitCollection), DisableParallelization = true)]
public sealed class InotifyLimitCollection;

/// <summary>An event flood that overflows the kernel's queue: the monitor notices, rescans, and converges exactly.</summary>
[Collection(nameof(InotifyLimitCollection))]
public sealed class OverflowTests(ITestOutputHelper output)
{
    /// <summary>Events in the flood (issue 5); raised to several times the queue limit should the limit be higher.</summary>
    private const int FloodEvents = 200_000;

    /// <summary>The queue limit the monitor's inotify instance is created with, when the test may set it (root); the flood exceeds either.</summary>
    private const int LoweredLimit = 64;

    /// <summary>Files the flood touches in turn: the kernel merges an event only with an identical one at the queue's tail.</summary>
    private const int FloodFiles = 2_000;

    [Fact]
    public async Task A_flood_of_200000_events_overflows_the_queue_and_the_rescan_converges_exactly()
    {
        await using var setup = await MirrorSetup.StartAsync("mf");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        var canLower = InotifyQueue.CanLower;
        var limit = canLower ? LoweredLimit : InotifyQueue.Current;
        var events = Math.Max(FloodEvents, 4 * limit);
        await InotifyQueue.WhileLoweredAsync(LoweredLimit, async () =>
        {
            await setup.AddWorkspaceAsync(workspace);
            await Poll.UntilAsync(async () => (await setup.WorkspaceAsync("web")).WatchedDirectories > 0, MirrorSetup.Deadline, "the monitor to watch");
        });

        await setup.ConnectLocalAsync("web", mirror);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var files = new List<string>();
        for (var d = 0; d < 20; d++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(workspace, $"d{d}")).FullName;
            for (var f = 0; f < FloodFiles / 20; f++)
            {
                var file = Path.Combine(directory, $"f{f}");
                File.WriteAllText(file, $"{d}/{f}");
                files.Add(file);
            }
        }

        // Each touch queues one IN_ATTRIB; round after round over every file, with a content change in between.
        var stamp = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < events; i++)
        {
            File.SetLastWriteTimeUtc(files[i % files.Count], stamp.AddSeconds(i));
            if (i % 10_000 == 0)
            {
                File.WriteAllText(files[i / 10_000], $"rewritten during the flood at {i}");
                File.Delete(files[^(1 + (i / 10_000))]);
                files.RemoveAt(files.Count - 1 - (i / 10_000));
            }
        }

        var flooded = clock.Elapsed;
        await setup.WaitAsync("web");
        output.WriteLine($"{events} events (max_queued_events {limit}) made in {flooded.TotalMilliseconds:0} ms; converged {(clock.Elapsed - flooded).TotalMilliseconds:0} ms later");

        MirrorSetup.AssertMirrored(workspace, mirror);
        var log = string.Join('\n', Directory.GetFiles(Path.Combine(setup.Daemon.Home, "logs"), "monitor-*").Select(File.ReadAllText));
        if (canLower)
        {
            Assert.Contains("overflowed; reconciling everything", log);
        }
    }
}

