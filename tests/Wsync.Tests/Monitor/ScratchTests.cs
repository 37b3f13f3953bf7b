using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Each remote's loop checks rsync's flags once in a scratch directory, locally and on the remote, right
/// after the initial sync. A remote detached at that moment (a script's connect, check, disconnect) must
/// leave no scratch directory behind on either machine; and what a killed monitor could not remove, the
/// next loop of that remote does.
/// </summary>
public sealed class ScratchTests
{
    private const int Rounds = 8;

    [Fact]
    public async Task Remotes_detached_right_after_their_initial_sync_leave_no_scratch_directory_locally_or_on_the_remote()
    {
        var (setup, server, localTemporary, remoteTemporary) = await StartAsync("sc");
        await using var _ = setup;
        using var __ = server;

        for (var round = 0; round < Rounds; round++)
        {
            await setup.ConnectLocalAsync("web", setup.Temp.CreateDirectory($"disk-{round}"), name: "disk");
            await setup.ConnectSshAsync("web", server, setup.Temp.Combine($"ssh-{round}"), name: "ssh");
            await setup.Client.Call(setup.Api.DisconnectRemoteAsync("web", "disk", CancellationToken.None));
            await setup.Client.Call(setup.Api.DisconnectRemoteAsync("web", "ssh", CancellationToken.None));
        }

        // A detached remote's loop ends after Disconnect has answered; its clean-up is part of ending.
        Poll.Until(() => !Directory.EnumerateFileSystemEntries(localTemporary).Any(), MirrorSetup.Deadline, "no scratch directory left locally");
        Poll.Until(() => !Directory.EnumerateFileSystemEntries(remoteTemporary).Any(), MirrorSetup.Deadline, "no scratch directory left on the remote");
    }

    [Fact]
    public async Task What_a_killed_monitor_left_in_either_temporary_directory_the_next_loop_of_that_remote_removes_and_nothing_else()
    {
        var (setup, server, localTemporary, remoteTemporary) = await StartAsync("sk");
        await using var _ = setup;
        using var __ = server;
        var disk = await setup.ConnectLocalAsync("web", setup.Temp.CreateDirectory("disk"), name: "disk");
        var remote = await setup.ConnectSshAsync("web", server, setup.Temp.Combine("ssh"), name: "ssh");
        await setup.WaitAsync("web");
        Poll.Until(() => !Directory.EnumerateFileSystemEntries(localTemporary).Any() && !Directory.EnumerateFileSystemEntries(remoteTemporary).Any(),
            MirrorSetup.Deadline, "the first self-tests to clean up");

        // As a monitor killed in the middle of its self-tests leaves them, plus another remote's, in use.
        string[] left =
        [
            Directory.CreateDirectory(Path.Combine(localTemporary, $"wsync-selftest-{disk.Id:n}-left", "gone")).Parent!.FullName,
            Directory.CreateDirectory(Path.Combine(localTemporary, $"wsync-selftest-src-{disk.Id:n}-left")).FullName,
            Directory.CreateDirectory(Path.Combine(localTemporary, $"wsync-selftest-src-{remote.Id:n}-left")).FullName,
            Directory.CreateDirectory(Path.Combine(remoteTemporary, $"wsync-selftest-{remote.Id:n}-left", "gone")).Parent!.FullName,
        ];
        var another = Directory.CreateDirectory(Path.Combine(localTemporary, $"wsync-selftest-{Guid.NewGuid():n}-in-use")).FullName;
        server.Own(remoteTemporary);

        var killed = (await setup.WorkspaceAsync("web")).MonitorProcessId!.Value;
        Processes.Kill(killed);
        await Poll.UntilAsync(async () => (await setup.WorkspaceAsync("web")).MonitorProcessId is { } pid && pid != killed,
            MirrorSetup.Deadline, "the next monitor");

        Poll.Until(() => !left.Any(Directory.Exists), MirrorSetup.Deadline, "the next loops to remove what the killed monitor left");
        Assert.True(Directory.Exists(another), "another remote's scratch directory was removed");
    }

    /// <summary>A daemon with workspace "web" (one file) and a test sshd, each with an empty temporary directory ($TMPDIR) of its own.</summary>
    private static async Task<(MirrorSetup Setup, SshServer Server, string Local, string Remote)> StartAsync(string prefix)
    {
        var setup = await MirrorSetup.StartAsync(prefix, temp => new() { ["TMPDIR"] = temp.CreateDirectory("local-tmp") });
        var remote = setup.Temp.CreateDirectory("remote-tmp");
        var server = SshServer.Start(setup.Temp.Combine("sshd"), config: [$"SetEnv TMPDIR={remote}"]);
        server.Own(remote);
        var workspace = setup.Temp.CreateDirectory("web");
        File.WriteAllText(Path.Combine(workspace, "file"), "content");
        await setup.AddWorkspaceAsync(workspace);
        return (setup, server, setup.Temp.Combine("local-tmp"), remote);
    }
}
