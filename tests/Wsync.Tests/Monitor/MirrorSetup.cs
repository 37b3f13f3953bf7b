using Wsync.TestSupport;
using Wsync.Tests.Daemon;

namespace Wsync.Tests.Monitor;

/// <summary>A daemon with its own home, a client, and helpers to attach remotes and wait.</summary>
internal sealed class MirrorSetup : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>The daemon's extra environment, for a restart.</summary>
    private readonly Dictionary<string, string>? environment;

    private MirrorSetup(TempDirectory temp, DaemonProcess daemon, TestClient client, Dictionary<string, string>? environment, RemoteTransport transport)
    {
        Transport = transport;
        Temp = temp;
        Daemon = daemon;
        Client = client;
        this.environment = environment;
    }

    public TempDirectory Temp { get; }

    /// <summary>How remotes connect unless a call says otherwise: the suites that run over both transports set it.</summary>
    public RemoteTransport Transport { get; }

    /// <summary>The daemon now running; replaced by <see cref="RestartDaemonAsync"/>.</summary>
    public DaemonProcess Daemon { get; private set; }

    public TestClient Client { get; private set; }

    public IWsyncDaemon Api => Client.Daemon;

    /// <summary>A fresh home and daemon; <paramref name="environment"/> is added to the daemon's (and so its monitors').</summary>
    public static async Task<MirrorSetup> StartAsync(string prefix, Func<TempDirectory, Dictionary<string, string>>? environment = null,
        RemoteTransport transport = RemoteTransport.Agent)
    {
        var temp = new TempDirectory(prefix);
        var variables = environment?.Invoke(temp);
        var daemon = DaemonProcess.Start(temp.Combine("home"), variables);
        var client = await TestClient.ConnectAsync(daemon.SocketPath);
        return new MirrorSetup(temp, daemon, client, variables, transport);
    }

    /// <summary>
    /// Stops the daemon gracefully (its monitors with it), runs <paramref name="whileStopped"/>, and starts a
    /// daemon again on the same home: every workspace's monitor starts afresh.
    /// </summary>
    public async Task RestartDaemonAsync(Action whileStopped)
    {
        Client.Dispose();
        Daemon.Dispose();
        whileStopped();
        Daemon = DaemonProcess.Start(Daemon.Home, environment);
        Client = await TestClient.ConnectAsync(Daemon.SocketPath);
    }

    public async Task<Workspace> WorkspaceAsync(string name) =>
        (await Client.Call(Api.GetWorkspacesAsync(CancellationToken.None))).Single(w => w.Name == name);

    /// <summary>Polls until the workspace is Halted; returns it.</summary>
    public Task<Workspace> HaltedAsync(string name) => InStateAsync(name, WorkspaceState.Halted);

    /// <summary>Polls until the workspace is in <paramref name="state"/>; returns it.</summary>
    public async Task<Workspace> InStateAsync(string name, WorkspaceState state)
    {
        Workspace? found = null;
        await Poll.UntilAsync(async () => (found = await WorkspaceAsync(name)).State == state, Deadline, $"'{name}' to be {state}");
        return found!;
    }

    public Task<Workspace> AddWorkspaceAsync(string path, string[]? exclude = null, bool gitIgnore = false) =>
        Client.Call(Api.AddWorkspaceAsync(new AddWorkspaceRequest { Path = path, Exclude = exclude ?? [], UseGitIgnore = gitIgnore }, CancellationToken.None));

    /// <summary>
    /// Connect-WsyncRemote to a local directory; <paramref name="force"/> accepts one holding entries the
    /// workspace lacks. Over the agent, returns once the agent carries the remote's changes (it starts after
    /// the initial sync), so what the test does next goes through it; <paramref name="agentStarts"/> false
    /// for a test of an agent that cannot.
    /// </summary>
    public async Task<Remote> ConnectLocalAsync(string workspace, string path, string? name = null, bool force = false, RemoteTransport? transport = null,
        bool agentStarts = true, DriftAction driftAction = DriftAction.Undo)
    {
        var chosen = transport ?? Transport;
        var remote = await Client.Call(Api.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = workspace,
            Destination = path,
            Name = name,
            WaitForInitialSync = true,
            Force = force,
            Transport = chosen,
            DriftAction = driftAction,
        }, null, CancellationToken.None));
        return await AgentStartedAsync(workspace, remote, agentStarts && chosen == RemoteTransport.Agent);
    }

    /// <summary>Connect-WsyncRemote over ssh, as <see cref="ConnectLocalAsync"/> does; the remote directory is handed to the ssh account.</summary>
    public async Task<Remote> ConnectSshAsync(string workspace, SshServer server, string path, string? name = null, bool force = false, RemoteTransport? transport = null,
        bool agentStarts = true, DriftAction driftAction = DriftAction.Undo)
    {
        if (Directory.Exists(path))
        {
            server.Own(path);
        }
        else
        {
            server.Own(Path.GetDirectoryName(path)!, recursive: false); // the remote creates it
        }

        var chosen = transport ?? Transport;
        var remote = await Client.Call(Api.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = workspace,
            Destination = server.Destination(path),
            Name = name,
            Port = server.Port,
            IdentityFile = server.IdentityFile,
            SshOptions = server.SshOptions,
            WaitForInitialSync = true,
            Force = force,
            Transport = chosen,
            DriftAction = driftAction,
        }, null, CancellationToken.None));
        return await AgentStartedAsync(workspace, remote, agentStarts && chosen == RemoteTransport.Agent);
    }

    private async Task<Remote> AgentStartedAsync(string workspace, Remote connected, bool waitForAgent)
    {
        var remote = connected;
        if (waitForAgent && remote.Transport != RemoteTransport.Agent)
        {
            await Poll.UntilAsync(async () => (remote = await RemoteAsync(workspace, connected.Name)).Transport == RemoteTransport.Agent, Deadline,
                $"the agent to carry {connected.Name}'s changes");
        }

        return remote;
    }

    /// <summary>Wait-WsyncWorkspace: every change made so far is on every remote.</summary>
    public Task<Workspace> WaitAsync(string workspace, TimeSpan? timeout = null) =>
        Client.Call(Api.WaitWorkspaceAsync(workspace, (int)(timeout ?? Deadline).TotalMilliseconds, CancellationToken.None));

    public async Task<Remote> RemoteAsync(string workspace, string name) =>
        (await Client.Call(Api.GetRemotesAsync(workspace, CancellationToken.None))).Single(r => r.Name == name);

    public static void AssertMirrored(string expected, string actual, Func<string, bool>? ignore = null)
    {
        var differences = TreeSnapshot.Compare(expected, actual, ignore);
        Assert.True(differences.Count == 0, $"{actual} differs from {expected}:\n" + string.Join('\n', differences.Take(30)));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Daemon.Dispose();
        Temp.Dispose();
        await Task.CompletedTask;
    }
}
