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

    /// <summary>How many of the entries a refused connect would delete its message names; the rest are counted.</summary>
    private const int NamedEntriesInRefusal = 5;

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
        return View(workspace);
    }

    public async Task<Workspace> RemoveWorkspaceAsync(string name, CancellationToken cancellationToken)
    {
        var workspace = await registry.RemoveAsync(name, cancellationToken).ConfigureAwait(false);
        log.Information("Removed workspace {Workspace}", workspace.Name);
        var view = View(workspace);
        await supervisor.StopAsync(workspace.Id).ConfigureAwait(false);
        Publish(SyncEventKind.WorkspaceRemoved, workspace, null, $"Removed {workspace.Path}; its remotes keep their data.");
        return view with { State = WorkspaceState.Stopped, MonitorProcessId = null };
    }

    public Task<IReadOnlyList<Workspace>> GetWorkspacesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Workspace>>([.. registry.Snapshot.Select(View)]);

    public async Task<Remote> ConnectRemoteAsync(ConnectRemoteRequest request, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var workspace = registry.Find(request.Workspace);
        var destination = Destination.Parse(request.Destination, request.Port);
        var sshOptions = Validation.CheckSshOptions(request.SshOptions, request.AllowUnsafeSshOption);
        var remote = new RemoteDefinition
        {
            Id = Guid.NewGuid(),
            Name = request.Name ?? DefaultRemoteName(workspace, destination),
            Destination = destination.ToString(),
            Port = destination.Port,
            IdentityFile = request.IdentityFile,
            SshOptions = sshOptions,
            Created = DateTimeOffset.UtcNow,
        };
        Validation.CheckName(remote.Name, ErrorIds.RemoteNameInvalid, "remote");
        WorkspaceRegistry.CheckRemoteIsNew(workspace, remote);
        CheckDestination(workspace, destination, request);

        // Reach the destination before anything is stored: a remote that cannot work is refused, not kept.
        var probingMonitor = await ProbingMonitorAsync(workspace, destination, cancellationToken).ConfigureAwait(false);
        var entries = await probe.CheckAsync(destination, remote, probingMonitor, cancellationToken).ConfigureAwait(false);
        if (!request.Force)
        {
            RefuseToDeleteOtherFiles(workspace, remote, entries);
        }

        var updated = await registry.AddRemoteAsync(workspace.Id, remote, cancellationToken).ConfigureAwait(false);
        log.Information("Connected remote {Remote} ({Destination}) to {Workspace}", remote.Name, remote.Destination, workspace.Name);
        Publish(SyncEventKind.RemoteConnected, updated, remote, $"Connected {remote.Destination}.");
        await supervisor.ApplyAsync(updated, cancellationToken).ConfigureAwait(false);

        var view = RemoteView(registry.FindById(workspace.Id) ?? updated, remote);
        if (request.WaitForInitialSync && !updated.Suspended)
        {
            var monitor = await RunningMonitorAsync(updated, cancellationToken).ConfigureAwait(false);
            var status = await RpcErrors.Call(monitor.WaitForInitialSyncAsync(remote.Id, progress, cancellationToken), "monitor").ConfigureAwait(false);
            view = WithStatus(view, status);
        }

        return view;
    }

    public async Task<Remote> DisconnectRemoteAsync(string workspace, string name, CancellationToken cancellationToken)
    {
        var (updated, remote) = await registry.RemoveRemoteAsync(workspace, name, cancellationToken).ConfigureAwait(false);
        log.Information("Disconnected remote {Remote} from {Workspace}", remote.Name, updated.Name);
        Publish(SyncEventKind.RemoteDisconnected, updated, remote, $"Disconnected {remote.Destination}; its data stays as it is.");
        var view = RemoteView(updated, remote);
        await supervisor.ApplyAsync(updated, cancellationToken).ConfigureAwait(false);
        return view with { State = RemoteState.Stopped };
    }

    public Task<IReadOnlyList<Remote>> GetRemotesAsync(string? workspace, CancellationToken cancellationToken)
    {
        var workspaces = workspace is null ? registry.Snapshot : [registry.Find(workspace)];
        return Task.FromResult<IReadOnlyList<Remote>>([.. workspaces.SelectMany(w => w.Remotes.Select(r => RemoteView(w, r)))]);
    }

    public async Task<Workspace> SyncWorkspaceAsync(string name, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var workspace = registry.Find(name);
        RefuseWhenSuspended(workspace);
        var monitor = await RunningMonitorAsync(workspace, cancellationToken).ConfigureAwait(false);
        var status = await RpcErrors.Call(monitor.SyncAsync(progress, cancellationToken), "monitor").ConfigureAwait(false);
        supervisor.Find(workspace.Id)?.Observe(status);
        return View(registry.Find(name));
    }

    public async Task<Workspace> WaitWorkspaceAsync(string name, int timeoutMilliseconds, CancellationToken cancellationToken)
    {
        var workspace = registry.Find(name);
        RefuseWhenSuspended(workspace);
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

        return View(registry.Find(name));
    }

    public async Task<Workspace> SuspendWorkspaceAsync(string name, CancellationToken cancellationToken)
    {
        var workspace = await registry.SetSuspendedAsync(name, true, cancellationToken).ConfigureAwait(false);
        await supervisor.ApplyAsync(workspace, cancellationToken).ConfigureAwait(false);
        log.Information("Suspended workspace {Workspace}", workspace.Name);
        return View(workspace);
    }

    public async Task<Workspace> ResumeWorkspaceAsync(string name, bool force, CancellationToken cancellationToken)
    {
        var current = registry.Find(name);
        if (!force && current.Remotes.Count > 0 && IsEmptyDirectory(current.Path))
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
        return View(workspace);
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

    private static void RefuseWhenSuspended(WorkspaceDefinition workspace)
    {
        if (workspace.Suspended)
        {
            throw new WsyncException(ErrorIds.WorkspaceSuspended, WsyncErrorCategory.InvalidOperation, workspace.Name,
                $"'{workspace.Name}' is suspended; Resume-WsyncWorkspace '{workspace.Name}' first.");
        }
    }

    private void CheckDestination(WorkspaceDefinition workspace, Destination destination, ConnectRemoteRequest request)
    {
        if (request.IdentityFile is not null && !File.Exists(request.IdentityFile))
        {
            throw new WsyncException(ErrorIds.IdentityFileNotFound, WsyncErrorCategory.ObjectNotFound, request.IdentityFile,
                $"The identity file '{request.IdentityFile}' does not exist.");
        }

        if (destination.Kind != RemoteKind.Local)
        {
            return;
        }

        var resolved = Posix.ResolvePath(destination.Path) ?? destination.Path;
        foreach (var other in registry.Snapshot)
        {
            if (Validation.IsSameOrUnder(resolved, other.Path))
            {
                throw new WsyncException(ErrorIds.DestinationInsideWorkspace, WsyncErrorCategory.InvalidArgument, request.Destination,
                    $"'{request.Destination}' is inside the workspace '{other.Name}' ({other.Path}); mirroring there would feed on itself.");
            }

            if (Validation.IsSameOrUnder(other.Path, resolved))
            {
                throw new WsyncException(ErrorIds.DestinationInsideWorkspace, WsyncErrorCategory.InvalidArgument, request.Destination,
                    $"'{request.Destination}' contains the workspace '{other.Name}' ({other.Path}); mirroring there would delete it.");
            }
        }
    }

    /// <summary>
    /// Refuses a destination whose top level holds entries the workspace root lacks: the initial sync
    /// (an exact mirror) would delete them, and such a destination is usually a mistyped path (a home
    /// directory, another project) rather than an old mirror. Deeper differences are what mirroring is for.
    /// Names are compared as they are, excluded ones too (rsync leaves excluded names alone on the remote,
    /// so this errs towards asking).
    /// </summary>
    private static void RefuseToDeleteOtherFiles(WorkspaceDefinition workspace, RemoteDefinition remote, IReadOnlyList<string> destinationEntries)
    {
        if (destinationEntries.Count == 0)
        {
            return;
        }

        HashSet<string> local;
        try
        {
            local = [.. Directory.EnumerateFileSystemEntries(workspace.Path).Select(Path.GetFileName).OfType<string>()];
        }
        catch (IOException)
        {
            local = [];
        }
        catch (UnauthorizedAccessException)
        {
            local = [];
        }

        var others = destinationEntries.Where(entry => !local.Contains(entry)).Order(StringComparer.Ordinal).ToList();
        if (others.Count == 0)
        {
            return;
        }

        var named = string.Join(", ", others.Take(NamedEntriesInRefusal).Select(entry => $"'{entry}'"));
        var more = others.Count > NamedEntriesInRefusal ? $" and {others.Count - NamedEntriesInRefusal} more" : "";
        throw new WsyncException(ErrorIds.DestinationHoldsOtherFiles, WsyncErrorCategory.ResourceExists, remote.Destination,
            $"'{remote.Destination}' holds {others.Count} {(others.Count == 1 ? "entry" : "entries")} that '{workspace.Name}' does not " +
            $"have ({named}{more}); mirroring would delete {(others.Count == 1 ? "it" : "them")}. Connect to an empty or new " +
            "directory, or use -Force to make it an exact mirror anyway.");
    }

    /// <summary>True for an existing directory with no entry at all (a missing root halts on its own; it is not emptied).</summary>
    private static bool IsEmptyDirectory(string path)
    {
        try
        {
            return Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any();
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string DefaultRemoteName(WorkspaceDefinition workspace, Destination destination)
    {
        var stem = destination.DefaultName;
        var name = stem;
        for (var n = 2; workspace.Remotes.Any(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase)); n++)
        {
            name = $"{stem}-{n}";
        }

        return name;
    }

    private Workspace View(WorkspaceDefinition workspace)
    {
        var handle = supervisor.Find(workspace.Id);
        var status = handle?.Status;
        var (supervision, reason) = handle?.Supervision ?? (SupervisionState.Stopped, null);
        var remotes = workspace.Remotes.Select(r => RemoteView(workspace, r, handle)).ToList();
        var state = supervision switch
        {
            SupervisionState.Failed => WorkspaceState.Failed,
            SupervisionState.Stopped => WorkspaceState.Stopped,
            _ when status?.State is WorkspaceState.Halted or WorkspaceState.Failed => status.State,
            _ when workspace.Suspended => WorkspaceState.Suspended,
            _ when status is null => WorkspaceState.Starting,
            _ => status.State == WorkspaceState.Suspended ? WorkspaceState.Watching : status.State,
        };
        return new Workspace
        {
            Id = workspace.Id,
            Name = workspace.Name,
            Path = workspace.Path,
            State = state,
            StateReason = supervision == SupervisionState.Failed ? reason : status?.Reason,
            Remotes = remotes,
            Exclude = workspace.Exclude,
            UseGitIgnore = workspace.UseGitIgnore,
            PendingChanges = remotes.Count == 0 ? 0 : remotes.Max(r => r.PendingChanges),
            LastSyncTime = remotes.Count == 0 || remotes.Any(r => r.LastSyncTime is null) ? null : remotes.Min(r => r.LastSyncTime),
            MonitorProcessId = handle?.ProcessId,
            WatchedDirectories = status?.WatchedDirectories ?? 0,
            Created = workspace.Created,
        };
    }

    private static Remote WithStatus(Remote view, RemoteStatus status) => view with
    {
        State = status.State,
        LastSyncTime = status.LastSyncTime,
        PendingChanges = status.PendingChanges,
        BytesSent = status.BytesSent,
        FilesSent = status.FilesSent,
        LastError = status.LastError,
        Progress = status.Progress,
    };

    private Remote RemoteView(WorkspaceDefinition workspace, RemoteDefinition remote) =>
        RemoteView(workspace, remote, supervisor.Find(workspace.Id));

    private static Remote RemoteView(WorkspaceDefinition workspace, RemoteDefinition remote, MonitorHandle? handle)
    {
        var destination = Destination.Parse(remote.Destination, remote.Port);
        var status = handle?.Status?.Remotes.FirstOrDefault(s => s.RemoteId == remote.Id);
        var supervision = handle?.Supervision.State ?? SupervisionState.Stopped;
        var state = supervision is SupervisionState.Failed or SupervisionState.Stopped
            ? RemoteState.Stopped
            : workspace.Suspended
                ? RemoteState.Suspended
                : status?.State is null or RemoteState.Suspended ? RemoteState.Connecting : status.State;
        return new Remote
        {
            Id = remote.Id,
            Name = remote.Name,
            Workspace = workspace.Name,
            WorkspaceId = workspace.Id,
            Destination = remote.Destination,
            Kind = destination.Kind,
            User = destination.User,
            Host = destination.Host,
            Port = destination.Port,
            Path = destination.Path,
            IdentityFile = remote.IdentityFile,
            SshOptions = remote.SshOptions,
            State = state,
            LastSyncTime = status?.LastSyncTime,
            PendingChanges = status?.PendingChanges ?? 0,
            BytesSent = status?.BytesSent ?? 0,
            FilesSent = status?.FilesSent ?? 0,
            LastError = status?.LastError,
            Progress = status?.Progress,
            Created = remote.Created,
        };
    }
}
