using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Connect-WsyncRemote checks an ssh destination before storing it, in one remote session: each failed
/// check is refused with its own ErrorId and category, and nothing is stored.
/// </summary>
public sealed class SshProbeTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    [Fact]
    public async Task A_directory_the_login_cannot_write_is_refused_as_DestinationNotWritable_and_nothing_is_stored()
    {
        await using var setup = await MirrorSetup.StartAsync("pw");
        await setup.AddWorkspaceAsync(setup.Temp.CreateDirectory("web"));
        var locked = setup.Temp.CreateDirectory("locked");
        if (!LoginAccount.IsRoot)
        {
            // The login is the current user, who owns it: take the write bits away (as root, the login is
            // the test account, and a root-owned 0755 directory is already closed to it).
            File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }

        var error = await RefusedAsync(setup, ssh.Server, locked);

        Assert.Equal(ErrorIds.DestinationNotWritable, error.ErrorId);
        Assert.Equal(WsyncErrorCategory.PermissionDenied, error.Category);
        Assert.Contains(locked, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_without_rsync_is_refused_as_DestinationInvalid_NotInstalled_and_nothing_is_stored()
    {
        await using var setup = await MirrorSetup.StartAsync("pr");
        await setup.AddWorkspaceAsync(setup.Temp.CreateDirectory("web"));
        var bin = setup.Temp.CreateDirectory("bin-without-rsync"); // mkdir only: the connection itself creates the destination
        File.CreateSymbolicLink(Path.Combine(bin, "mkdir"), "/bin/mkdir");
        using var server = SshServer.Start(setup.Temp.Combine("sshd"), config: [$"SetEnv PATH={bin}"]);
        var target = setup.Temp.CreateDirectory("target");
        server.Own(target);

        var error = await RefusedAsync(setup, server, target);

        Assert.Equal(ErrorIds.DestinationInvalid, error.ErrorId);
        Assert.Equal(WsyncErrorCategory.NotInstalled, error.Category);
        Assert.Contains("rsync is not installed", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Connects <paramref name="path"/> over <paramref name="server"/>, expecting a refusal that leaves the workspace file as it was.</summary>
    private static async Task<WsyncException> RefusedAsync(MirrorSetup setup, SshServer server, string path)
    {
        var before = File.ReadAllBytes(setup.Daemon.WorkspaceFile);
        var error = await Assert.ThrowsAsync<WsyncException>(() => setup.Client.Call(setup.Api.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = "web",
            Destination = server.Destination(path),
            Port = server.Port,
            IdentityFile = server.IdentityFile,
            SshOptions = server.SshOptions,
            WaitForInitialSync = true,
        }, null, CancellationToken.None)));
        Assert.Equal(before, File.ReadAllBytes(setup.Daemon.WorkspaceFile));
        Assert.Empty(await setup.Client.Call(setup.Api.GetRemotesAsync("web", CancellationToken.None)));
        return error;
    }
}
