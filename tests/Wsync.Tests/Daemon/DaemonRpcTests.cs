using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>Round trips against a real wsyncd process on a temp socket.</summary>
public sealed class DaemonRpcTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TempDirectory temp = new("wd");
    private readonly DaemonProcess daemon;

    /// <summary>File systems a test mounted, unmounted before the temp tree goes.</summary>
    private readonly List<string> mounts = [];

    public DaemonRpcTests()
    {
        daemon = DaemonProcess.Start(temp.Combine("home"));
    }

    public void Dispose()
    {
        foreach (var mount in mounts)
        {
            Processes.Run("umount", ["--lazy", mount]);
        }

        daemon.Dispose();
        temp.Dispose();
    }

    [Fact]
    public async Task The_handshake_returns_the_daemon_info()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath, handshake: false);

        var info = await client.Call(client.Daemon.HandshakeAsync(ProtocolInfo.Version, "test", CancellationToken.None));

        Assert.Equal(daemon.ProcessId, info.ProcessId);
        Assert.Equal(ProtocolInfo.ProductVersion, info.Version);
        Assert.Equal(daemon.SocketPath, info.SocketPath);
        Assert.Equal(daemon.WorkspaceFile, info.WorkspaceFilePath);
        Assert.InRange(info.StartTime, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task A_client_of_another_protocol_is_told_to_restart_the_daemon()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath, handshake: false);

        var error = await Assert.ThrowsAsync<WsyncException>(() =>
            client.Call(client.Daemon.HandshakeAsync(ProtocolInfo.Version + 1, "9.9.9", CancellationToken.None)));

        Assert.Equal(ErrorIds.ProtocolMismatch, error.ErrorId);
        Assert.Equal(WsyncErrorCategory.ProtocolError, error.Category);
        Assert.Contains("Stop-WsyncDaemon", error.Message);
    }

    [Fact]
    public void The_socket_is_private_to_its_user()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(daemon.SocketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(daemon.Home));
    }

    [Fact]
    public async Task Adding_a_workspace_stores_it_and_starts_its_monitor_and_removing_stops_it()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        var path = temp.CreateDirectory("web");

        var added = await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = path, Exclude = ["*.o"] }, CancellationToken.None));

        Assert.Equal("web", added.Name);
        Assert.Equal(path, added.Path);
        Assert.Equal(["*.o"], added.Exclude);
        Assert.Contains(added.Id.ToString(), File.ReadAllText(daemon.WorkspaceFile));
        int monitor = 0;
        await Poll.UntilAsync(async () =>
        {
            var listed = Assert.Single(await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None)));
            monitor = listed.MonitorProcessId ?? 0;
            return monitor != 0 && listed.State == WorkspaceState.Watching;
        }, Deadline, "the monitor to report");
        Assert.Equal([monitor], daemon.MonitorProcessIds());

        var removed = await client.Call(client.Daemon.RemoveWorkspaceAsync("WEB", CancellationToken.None));

        Assert.Equal(added.Id, removed.Id);
        Assert.Empty(await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None)));
        Assert.DoesNotContain(added.Id.ToString(), File.ReadAllText(daemon.WorkspaceFile));
        Poll.Until(() => !Processes.IsAlive(monitor), Deadline, "the monitor to exit");
    }

    public static TheoryData<string, string, WsyncErrorCategory> BadWorkspaces => new()
    {
        { "missing", ErrorIds.WorkspacePathNotFound, WsyncErrorCategory.ObjectNotFound },
        { "file", ErrorIds.WorkspacePathNotDirectory, WsyncErrorCategory.InvalidArgument },
        { "/", ErrorIds.WorkspacePathUnsafe, WsyncErrorCategory.InvalidArgument },
        { "/etc", ErrorIds.WorkspacePathUnsafe, WsyncErrorCategory.InvalidArgument },
        { "/proc/self", ErrorIds.WorkspacePathUnsafe, WsyncErrorCategory.InvalidArgument },
        { "home", ErrorIds.WorkspacePathUnsafe, WsyncErrorCategory.InvalidArgument },
        { "inside", ErrorIds.WorkspaceNested, WsyncErrorCategory.InvalidArgument },
        { "outside", ErrorIds.WorkspaceNested, WsyncErrorCategory.InvalidArgument },
        { "same", ErrorIds.WorkspacePathInUse, WsyncErrorCategory.ResourceExists },
        { "name:taken", ErrorIds.WorkspaceNameInUse, WsyncErrorCategory.ResourceExists },
        { "name:we*b", ErrorIds.WorkspaceNameInvalid, WsyncErrorCategory.InvalidArgument },
        { "name:", ErrorIds.WorkspaceNameInvalid, WsyncErrorCategory.InvalidArgument },
        { "name:-x", ErrorIds.WorkspaceNameInvalid, WsyncErrorCategory.InvalidArgument },
        { "exclude:", ErrorIds.ExcludePatternInvalid, WsyncErrorCategory.InvalidArgument },
        { "exclude:a[b", ErrorIds.ExcludePatternInvalid, WsyncErrorCategory.InvalidArgument },
        { "exclude:- x", ErrorIds.ExcludePatternInvalid, WsyncErrorCategory.InvalidArgument },
    };

    [Theory]
    [MemberData(nameof(BadWorkspaces))]
    public async Task A_bad_workspace_is_refused_with_a_stable_id_and_changes_nothing(string kind, string errorId, WsyncErrorCategory category)
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        var existing = temp.CreateDirectory("projects", "taken");
        await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = existing }, CancellationToken.None));
        var fresh = temp.CreateDirectory("fresh");
        File.WriteAllText(temp.Combine("a-file"), "x");
        var before = File.ReadAllBytes(daemon.WorkspaceFile);
        var request = kind switch
        {
            "missing" => new AddWorkspaceRequest { Path = temp.Combine("nope") },
            "file" => new AddWorkspaceRequest { Path = temp.Combine("a-file") },
            "home" => new AddWorkspaceRequest { Path = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) },
            "inside" => new AddWorkspaceRequest { Path = temp.CreateDirectory("projects", "taken", "sub") },
            "outside" => new AddWorkspaceRequest { Path = temp.Combine("projects") },
            "same" => new AddWorkspaceRequest { Path = existing + "/", Name = "other" },
            _ when kind.StartsWith("name:") => new AddWorkspaceRequest { Path = fresh, Name = kind["name:".Length..] },
            _ when kind.StartsWith("exclude:") => new AddWorkspaceRequest { Path = fresh, Exclude = [kind["exclude:".Length..]] },
            _ => new AddWorkspaceRequest { Path = kind },
        };

        var error = await Assert.ThrowsAsync<WsyncException>(() => client.Call(client.Daemon.AddWorkspaceAsync(request, CancellationToken.None)));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(category, error.Category);
        Assert.NotNull(error.Target);
        Assert.Equal(before, File.ReadAllBytes(daemon.WorkspaceFile));
        Assert.Single(await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None)));
    }

    [Fact]
    public async Task Force_accepts_a_directory_normally_refused()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        var added = await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = "/srv", Name = "srv", Force = true }, CancellationToken.None));

        Assert.Equal("/srv", added.Path);
        Assert.NotEqual("/srv", home);
    }

    [Fact]
    public async Task Remotes_are_attached_listed_and_detached()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        var workspace = await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("web") }, CancellationToken.None));
        var mirror = temp.CreateDirectory("mirror");

        var remote = await client.Call(client.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest { Workspace = "web", Destination = mirror }, null, CancellationToken.None));

        Assert.Equal("mirror", remote.Name);
        Assert.Equal("web", remote.Workspace);
        Assert.Equal(workspace.Id, remote.WorkspaceId);
        Assert.Equal(RemoteKind.Local, remote.Kind);
        Assert.Equal(mirror, remote.Path);
        Assert.Contains(remote.Id.ToString(), File.ReadAllText(daemon.WorkspaceFile));
        var listed = Assert.Single(await client.Call(client.Daemon.GetRemotesAsync("web", CancellationToken.None)));
        Assert.Equal(remote.Id, listed.Id);
        Assert.Equal(remote.Id, Assert.Single(Assert.Single(await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None))).Remotes).Id);

        var detached = await client.Call(client.Daemon.DisconnectRemoteAsync("web", "MIRROR", CancellationToken.None));

        Assert.Equal(remote.Id, detached.Id);
        Assert.Empty(await client.Call(client.Daemon.GetRemotesAsync(null, CancellationToken.None)));
        Assert.DoesNotContain(remote.Id.ToString(), File.ReadAllText(daemon.WorkspaceFile));
    }

    public static TheoryData<string, string, WsyncErrorCategory> BadRemotes => new()
    {
        { "workspace:nope", ErrorIds.WorkspaceNotFound, WsyncErrorCategory.ObjectNotFound },
        { "missing", ErrorIds.DestinationNotFound, WsyncErrorCategory.ObjectNotFound },
        { "read-only", ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied },
        { "inside", ErrorIds.DestinationInsideWorkspace, WsyncErrorCategory.InvalidArgument },
        { "contains", ErrorIds.DestinationInsideWorkspace, WsyncErrorCategory.InvalidArgument },
        { "twice", ErrorIds.RemoteDestinationInUse, WsyncErrorCategory.ResourceExists },
        { "name:first", ErrorIds.RemoteNameInUse, WsyncErrorCategory.ResourceExists },
        { "name:a*", ErrorIds.RemoteNameInvalid, WsyncErrorCategory.InvalidArgument },
        { "destination:host:", ErrorIds.DestinationInvalid, WsyncErrorCategory.InvalidArgument },
        { "destination:-oProxyCommand=x:/p", ErrorIds.DestinationInvalid, WsyncErrorCategory.InvalidArgument },
        { "destination:ssh://h:70000/p", ErrorIds.PortInvalid, WsyncErrorCategory.InvalidArgument },
        { "identity", ErrorIds.IdentityFileNotFound, WsyncErrorCategory.ObjectNotFound },
        { "option:ProxyCommand=touch /tmp/pwned", ErrorIds.SshOptionUnsafe, WsyncErrorCategory.SecurityError },
        { "option:ControlPath=/tmp/x", ErrorIds.SshOptionInvalid, WsyncErrorCategory.InvalidArgument },
        { "option:Bogus=1", ErrorIds.SshOptionInvalid, WsyncErrorCategory.InvalidArgument },
        { "option:NoValue", ErrorIds.SshOptionInvalid, WsyncErrorCategory.InvalidArgument },
    };

    [Theory]
    [MemberData(nameof(BadRemotes))]
    public async Task A_bad_remote_is_refused_with_a_stable_id_and_changes_nothing(string kind, string errorId, WsyncErrorCategory category)
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        var workspacePath = temp.CreateDirectory("tree", "web");
        await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = workspacePath }, CancellationToken.None));
        var first = temp.CreateDirectory("first");
        await client.Call(client.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest { Workspace = "web", Destination = first }, null, CancellationToken.None));
        var before = File.ReadAllBytes(daemon.WorkspaceFile);
        var fresh = temp.CreateDirectory("fresh");
        var request = kind switch
        {
            "workspace:nope" => new ConnectRemoteRequest { Workspace = "nope", Destination = fresh },
            "missing" => new ConnectRemoteRequest { Workspace = "web", Destination = temp.Combine("absent") },
            "read-only" => new ConnectRemoteRequest { Workspace = "web", Destination = ReadOnlyDirectory() },
            "inside" => new ConnectRemoteRequest { Workspace = "web", Destination = temp.CreateDirectory("tree", "web", "mirror") },
            "contains" => new ConnectRemoteRequest { Workspace = "web", Destination = temp.Combine("tree") },
            "twice" => new ConnectRemoteRequest { Workspace = "web", Destination = first + "/", Name = "again" },
            "identity" => new ConnectRemoteRequest { Workspace = "web", Destination = "me@host:/p", IdentityFile = temp.Combine("no-key") },
            _ when kind.StartsWith("name:") => new ConnectRemoteRequest { Workspace = "web", Destination = fresh, Name = kind["name:".Length..] },
            _ when kind.StartsWith("destination:") => new ConnectRemoteRequest { Workspace = "web", Destination = kind["destination:".Length..] },
            _ when kind.StartsWith("option:") => new ConnectRemoteRequest { Workspace = "web", Destination = "me@host:/p", SshOptions = [kind["option:".Length..]] },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var error = await Assert.ThrowsAsync<WsyncException>(() => client.Call(client.Daemon.ConnectRemoteAsync(request, null, CancellationToken.None)));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(category, error.Category);
        Assert.NotNull(error.Target);
        Assert.Equal(before, File.ReadAllBytes(daemon.WorkspaceFile));
        Assert.False(File.Exists("/tmp/pwned"));
    }

    /// <summary>A directory nobody may write to: a read-only tmpfs as root (root ignores mode bits), mode 0555 otherwise.</summary>
    private string ReadOnlyDirectory()
    {
        var path = temp.CreateDirectory("read-only");
        if (LoginAccount.IsRoot)
        {
            Processes.RunChecked("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "wsync-test-ro", path]);
            mounts.Add(path);
        }
        else
        {
            File.SetUnixFileMode(path, (UnixFileMode)0b101_101_101);
        }

        return path;
    }

    [Fact]
    public async Task Unknown_names_are_reported_as_not_found()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("web") }, CancellationToken.None));

        var workspace = await Assert.ThrowsAsync<WsyncException>(() => client.Call(client.Daemon.RemoveWorkspaceAsync("nope", CancellationToken.None)));
        var remote = await Assert.ThrowsAsync<WsyncException>(() => client.Call(client.Daemon.DisconnectRemoteAsync("web", "nope", CancellationToken.None)));

        Assert.Equal((ErrorIds.WorkspaceNotFound, WsyncErrorCategory.ObjectNotFound, "nope"), (workspace.ErrorId, workspace.Category, workspace.Target));
        Assert.Equal((ErrorIds.RemoteNotFound, WsyncErrorCategory.ObjectNotFound, "nope"), (remote.ErrorId, remote.Category, remote.Target));
    }

    [Fact]
    public void A_second_daemon_for_the_same_home_says_the_first_runs_and_exits()
    {
        var (exitCode, error) = DaemonProcess.RunToExit(daemon.Home, Deadline);

        Assert.Equal(3, exitCode);
        Assert.Contains("already running", error);
        Assert.Contains(daemon.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), error);
        Assert.True(daemon.Accepts());
    }

    [Fact]
    public async Task Shutdown_stops_the_monitors_then_the_daemon_and_removes_the_socket()
    {
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("a") }, CancellationToken.None));
        await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("b") }, CancellationToken.None));
        Poll.Until(() => daemon.MonitorProcessIds().Count == 2, Deadline, "two monitors");
        var monitors = daemon.MonitorProcessIds();

        await client.Call(client.Daemon.ShutdownAsync(CancellationToken.None).ContinueWith(_ => true));

        Poll.Until(() => daemon.HasExited, Deadline, "the daemon to exit");
        Assert.All(monitors, pid => Assert.False(Processes.IsAlive(pid)));
        Assert.False(File.Exists(daemon.SocketPath));
    }
}
