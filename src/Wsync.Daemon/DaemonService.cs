using Serilog;
using Wsync.Rpc;
using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// The daemon's API, shared by every client connection. It validates, changes state through the
/// <see cref="WorkspaceRegistry"/>, then tells the <see cref="MonitorSupervisor"/>; reads merge the
/// stored definitions with the monitors' live status. What it changes it also publishes to the
/// <see cref="EventHub"/>, after the state lock is released.
/// </summary>
internal sealed class DaemonService(
    WsyncConfig config,
    WorkspaceRegistry registry,
    MonitorSupervisor supervisor,
    DestinationProbe probe,
    EventHub hub,
    Action requestShutdown,
    ILogger log) : IWsyncDaemon
{
    /// <summary>How long a call waits for a monitor that is starting.</summary>
    private static readonly TimeSpan MonitorStartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long Connect waits for the workspace's monitor to probe through; it is up within milliseconds of Add.</summary>
    private static readonly TimeSpan ProbingMonitorWait = TimeSpan.FromSeconds(2);

    private readonly DateTimeOffset startTime = DateTimeOffset.UtcNow;

    public Task<DaemonInfo> HandshakeAsync(int protocolVersion, string clientVersion, CancellationToken cancellationToken)
    {
        if (protocolVersion != ProtocolInfo.Version)
        {
            throw new WsyncException(ErrorIds.ProtocolMismatch, WsyncErrorCategory.ProtocolError, clientVersion,
                $"The running daemon (wsync {ProtocolInfo.ProductVersion}, protocol {ProtocolInfo.Version}) cannot serve this module " +
                $"(wsync {clientVersion}, protocol {protocolVersion}). Restart it: Stop-WsyncDaemon; Start-WsyncDaemon.");
        }

        return GetDaemonInfoAsync(cancellationToken);
    }

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken cancellationToken) => Task.FromResult(new DaemonInfo
    {
        ProcessId = Environment.ProcessId,
        Version = ProtocolInfo.ProductVersion,
        ProtocolVersion = ProtocolInfo.Version,
        SocketPath = config.DaemonCommandSocketPath,
        StartTime = startTime,
        Home = config.Home,
        WorkspaceFilePath = config.WorkspaceConfigFilePath,
        LogDirectory = config.LogDirectory,
        WorkspaceCount = registry.Snapshot.Count,
        MonitorCount = supervisor.Count,
        WatcherCount = hub.Count,
    });

    public Task ShutdownAsync(CancellationToken cancellationToken)
    {
        log.Information("Shutdown requested by a client");
        requestShutdown();
        return Task.CompletedTask;
    }

    public async Task<Workspace> AddWorkspaceAsync(AddWorkspaceRequest request, CancellationToken cancellationToken)
    {
        var workspace = await registry.AddAsync(request, cancellationToken).ConfigureAwait(false);
        log.Information("Added workspace {Workspace} at {Path}", workspace.Name, workspace.Path);
        Publish(SyncEventKind.WorkspaceAdded, workspace, null, $"Added {workspace.Path}.");
        await supervisor.ApplyAsync(workspace, cancellationToken).ConfigureAwait(false);
        return ViewOf(workspace);
    }

    public async Task<Workspace> RemoveWorkspaceAsync(string name, CancellationToken cancellationToken)
    {
        var workspace = await registry.RemoveAsync(name, cancellationToken).ConfigureAwait(false);
        log.Information("Removed workspace {Workspace}", workspace.Name);
        var view = ViewOf(workspace);
        await supervisor.StopAsync(workspace.Id).ConfigureAwait(false);
        Publish(SyncEventKind.WorkspaceRemoved, workspace, null, $"Removed {workspace.Path}; its remotes keep their data.");
        return view with { State = WorkspaceState.Stopped, MonitorProcessId = null };
    }

    public Task<IReadOnlyList<Workspace>> GetWorkspacesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Workspace>>([.. registry.Snapshot.Select(ViewOf)]);

    public async Task<Remote> ConnectRemoteAsync(ConnectRemoteRequest request, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var workspace = registry.Find(request.Workspace);
        var destination = Destination.Parse(request.Destination, request.Port);
        var sshOptions = Validation.CheckSshOptions(request.SshOptions, request.AllowUnsafeSshOption);
        var remote = new RemoteDefinition
        {
            Id = Guid.NewGuid(),
            Name = request.Name ?? ConnectChecks.DefaultRemoteName(workspace, destination),
            Destination = destination.ToString(),
            Port = destination.Port,
            IdentityFile = request.IdentityFile,
            SshOptions = sshOptions,
            Transport = request.Transport,
            DriftAction = request.DriftAction,
            Created = DateTimeOffset.UtcNow,
        };
        Validation.CheckName(remote.Name, ErrorIds.RemoteNameInvalid, "remote");
        WorkspaceRegistry.CheckRemoteIsNew(workspace, remote);
        ConnectChecks.CheckDestination(registry.Snapshot, destination, request);

        // Reach the destination before anything is stored: a remote that cannot work is refused, not kept.
        var probingMonitor = await ProbingMonitorAsync(workspace, destination, cancellationToken).ConfigureAwait(false);
        var entries = await probe.CheckAsync(destination, remote, probingMonitor, cancellationToken).ConfigureAwait(false);
        if (!request.Force)
        {
            ConnectChecks.RefuseToDeleteOtherFiles(workspace, remote, entries);
        }

        var updated = await registry.AddRemoteAsync(workspace.Id, remote, cancellationToken).ConfigureAwait(false);
        log.Information("Connected remote {Remote} ({Destination}) to {Workspace}", remote.Name, remote.Destination, workspace.Name);
        Publish(SyncEventKind.RemoteConnected, updated, remote, $"Connected {remote.Destination}.");
        await supervisor.ApplyAsync(updated, cancellationToken).ConfigureAwait(false);

        var view = RemoteViewOf(registry.FindById(workspace.Id) ?? updated, remote);
        if (request.WaitForInitialSync && !updated.Suspended)
        {
            var monitor = await RunningMonitorAsync(updated, cancellationToken).ConfigureAwait(false);
            var status = await RpcErrors.Call(monitor.WaitForInitialSyncAsync(remote.Id, progress, cancellationToken), "monitor").ConfigureAwait(false);
            view = Views.WithStatus(view, status);
        }

        return view;
    }

    public async Task<Remote> DisconnectRemoteAsync(string workspace, string name, CancellationToken cancellationToken)
    {
        var (updated, remote) = await registry.RemoveRemoteAsync(workspace, name, cancellationToken).ConfigureAwait(false);
        log.Information("Disconnected remote {Remote} from {Workspace}", remote.Name, updated.Name);
        Publish(SyncEventKind.RemoteDisconnected, updated, remote, $"Disconnected {remote.Destination}; its data stays as it is.");
        var view = RemoteViewOf(updated, remote);
        await supervisor.ApplyAsync(updated, cancellationToken).ConfigureAwait(false);
        return view with { State = RemoteState.Stopped };
    }

    public Task<IReadOnlyList<Remote>> GetRemotesAsync(string? workspace, CancellationToken cancellationToken)
    {
        var workspaces = workspace is null ? registry.Snapshot : [registry.Find(workspace)];
        return Task.FromResult<IReadOnlyList<Remote>>([.. workspaces.SelectMany(w => w.Remotes.Select(r => RemoteViewOf(w, r)))]);
    }

    public async Task<Workspace> SyncWorkspaceAsync(string name, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var workspace = registry.Find(name);
        ConnectChecks.RefuseWhenSuspended(workspace);
        var monitor = await RunningMonitorAsync(workspace, cancellationToken).ConfigureAwait(false);
        var status = await RpcErrors.Call(monitor.SyncAsync(progress, cancellationToken), "monitor").ConfigureAwait(false);
        supervisor.Find(workspace.Id)?.Observe(status);
        return ViewOf(registry.Find(name));
    }

    public async Task<Workspace> WaitWorkspaceAsync(string name, int timeoutMilliseconds, CancellationToken cancellationToken)
    {
        var workspace = registry.Find(name);
        ConnectChecks.RefuseWhenSuspended(workspace);
        var monitor = await RunningMonitorAsync(workspace, cancellationToken).ConfigureAwait(false);
        var result = await RpcErrors.Call(monitor.FlushAsync(timeoutMilliseconds, cancellationToken), "monitor").ConfigureAwait(false);
        supervisor.Find(workspace.Id)?.Observe(result.Status);
        if (!result.Completed)
        {
            var behind = string.Join("; ", result.Behind.Select(r =>
            {
                var remoteName = workspace.Remotes.FirstOrDefault(d => d.Id == r.RemoteId)?.Name ?? r.RemoteId.ToString();
                return $"{remoteName} ({r.State}, {r.PendingChanges} pending{(r.LastError is null ? "" : ": " + r.LastError)})";
            }));
            throw new WsyncException(ErrorIds.WaitTimeout, WsyncErrorCategory.OperationTimeout, name,
                $"Timed out after {timeoutMilliseconds / 1000.0:0.###} s waiting for '{name}'; still behind: {behind}.");
        }

        return ViewOf(registry.Find(name));
    }

    public async Task<Workspace> SuspendWorkspaceAsync(string name, CancellationToken cancellationToken)
    {
        var workspace = await registry.SetSuspendedAsync(name, true, cancellationToken).ConfigureAwait(false);
        await supervisor.ApplyAsync(workspace, cancellationToken).ConfigureAwait(false);
        log.Information("Suspended workspace {Workspace}", workspace.Name);
        return ViewOf(workspace);
    }

    public async Task<Workspace> ResumeWorkspaceAsync(string name, bool force, CancellationToken cancellationToken)
    {
        var current = registry.Find(name);
        if (!force && current.Remotes.Count > 0 && ConnectChecks.IsEmptyDirectory(current.Path))
        {
            // Resume skips the safety stop's emptiness check once ("I meant it"), so this is the last
            // point at which an emptied root can be caught before every remote is emptied too.
            throw new WsyncException(ErrorIds.ResumeWouldEmptyRemotes, WsyncErrorCategory.InvalidOperation, current.Name,
                $"The root of '{current.Name}' ({current.Path}) is empty: resuming would make every remote " +
                $"({string.Join(", ", current.Remotes.Select(r => r.Name))}) empty too. Restore the files first, " +
                "or resume with -Force if the workspace is meant to be empty.");
        }

        var workspace = await registry.SetSuspendedAsync(name, false, cancellationToken).ConfigureAwait(false);
        supervisor.Find(workspace.Id)?.ResetFailures();
        await supervisor.ApplyAsync(workspace, cancellationToken).ConfigureAwait(false);
        var monitor = await RunningMonitorAsync(workspace, cancellationToken).ConfigureAwait(false);
        await RpcErrors.Call(monitor.ResumeAsync(cancellationToken), "monitor").ConfigureAwait(false);
        log.Information("Resumed workspace {Workspace}", workspace.Name);
        return ViewOf(workspace);
    }

    /// <summary>Serves a watch with no connection to pace it (see <see cref="ClientSession"/>, which every client goes through).</summary>
    public Task WatchAsync(WatchRequest request, IProgress<SyncEvent> events, CancellationToken cancellationToken) =>
        WatchAsync(request, events, null, cancellationToken);

    /// <summary>
    /// Streams the chosen workspaces' events until cancelled (the client cancels, or disconnects).
    /// <paramref name="delivered"/> completes once what was reported so far has left for the client; the
    /// loop waits for it before taking more, so the only backlog of a stalled client is its bounded queue.
    /// </summary>
    public async Task WatchAsync(WatchRequest request, IProgress<SyncEvent> events, Func<Task>? delivered, CancellationToken cancellationToken)
    {
        // Names must exist when the watch starts (the module resolves wildcards to names); a workspace
        // removed later simply has no more events, and one added again under its name is watched again.
        var names = request.Workspaces?.Select(name => registry.Find(name).Name).ToList();
        using var subscription = hub.Subscribe(names);
        log.Debug("Watch started for {Workspaces}", names is null ? "every workspace" : string.Join(", ", names));
        try
        {
            while (true)
            {
                foreach (var syncEvent in await subscription.TakeAsync(cancellationToken).ConfigureAwait(false))
                {
                    events.Report(syncEvent);
                }

                if (delivered is not null)
                {
                    await delivered().WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            log.Debug("Watch ended");
        }
    }

    private void Publish(SyncEventKind kind, WorkspaceDefinition workspace, RemoteDefinition? remote, string message) =>
        hub.Publish(new SyncEvent
        {
            Time = DateTimeOffset.UtcNow,
            Kind = kind,
            Workspace = workspace.Name,
            WorkspaceId = workspace.Id,
            Remote = remote?.Name,
            RemoteId = remote?.Id,
            Message = message,
        });

    private async Task<IMonitor> RunningMonitorAsync(WorkspaceDefinition workspace, CancellationToken cancellationToken)
    {
        var handle = supervisor.Find(workspace.Id)
            ?? throw new WsyncException(ErrorIds.MonitorUnavailable, WsyncErrorCategory.ResourceUnavailable, workspace.Name,
                $"No monitor runs for '{workspace.Name}'.");
        return await handle.GetMonitorAsync(MonitorStartTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The workspace's monitor, to probe an ssh destination and keep the connection; null when none is up soon.</summary>
    private async Task<IMonitor?> ProbingMonitorAsync(WorkspaceDefinition workspace, Destination destination, CancellationToken cancellationToken)
    {
        if (destination.Kind == RemoteKind.Local || supervisor.Find(workspace.Id) is not { } handle)
        {
            return null;
        }

        try
        {
            return await handle.GetMonitorAsync(ProbingMonitorWait, cancellationToken).ConfigureAwait(false);
        }
        catch (WsyncException)
        {
            return null; // failed, or still starting: the probe process answers instead
        }
    }

    private Workspace ViewOf(WorkspaceDefinition workspace) => Views.Of(workspace, supervisor.Find(workspace.Id));

    private Remote RemoteViewOf(WorkspaceDefinition workspace, RemoteDefinition remote) => Views.Of(workspace, remote, supervisor.Find(workspace.Id));
}
