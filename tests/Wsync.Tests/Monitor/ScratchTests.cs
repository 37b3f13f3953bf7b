using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Each remote's loop checks rsync's flags once in a scratch directory, locally and on the remote, right
/// after the initial sync. A remote detached at that moment (a script's connect, check, disconnect) must
/// leave no scratch directory behind on either machine.
/// </summary>
public sealed class ScratchTests
{
    private const int Rounds = 8;

    [Fact]
    public async Task Remotes_detached_right_after_their_initial_sync_leave_no_scratch_directory_locally_or_on_the_remote()
    {
        await using var setup = await MirrorSetup.StartAsync("sc", temp => new() { ["TMPDIR"] = temp.CreateDirectory("local-tmp") });
        var localTemporary = setup.Temp.Combine("local-tmp");
        var remoteTemporary = setup.Temp.CreateDirectory("remote-tmp");
        using var server = SshServer.Start(setup.Temp.Combine("sshd"), config: [$"SetEnv TMPDIR={remoteTemporary}"]);
        server.Own(remoteTemporary);
        var workspace = setup.Temp.CreateDirectory("web");
        File.WriteAllText(Path.Combine(workspace, "file"), "content");
        await setup.AddWorkspaceAsync(workspace);

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
}
