namespace Wsync;

/// <summary>
/// The daemon's JSON-RPC surface on its Unix socket. The daemon implements it; the module's engine
/// attaches a proxy generated from it, so the two cannot drift. Failures arrive as
/// <see cref="WsyncException"/> with a stable ErrorId.
/// </summary>
public interface IWsyncDaemon
{
    /// <summary>The first call on every connection; refuses a client of another <see cref="ProtocolInfo.Version"/>.</summary>
    Task<DaemonInfo> HandshakeAsync(int protocolVersion, string clientVersion, CancellationToken cancellationToken);

    Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken cancellationToken);

    /// <summary>Stops every monitor, then the daemon. Returns before the process exits.</summary>
    Task ShutdownAsync(CancellationToken cancellationToken);

    Task<Workspace> AddWorkspaceAsync(AddWorkspaceRequest request, CancellationToken cancellationToken);

    /// <summary>Forgets a workspace and stops its monitor. Remote data is never touched.</summary>
    Task<Workspace> RemoveWorkspaceAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<Workspace>> GetWorkspacesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Checks the destination, stores the remote and (if asked) waits for its initial sync. A destination
    /// holding entries the workspace root lacks is refused (<see cref="ErrorIds.DestinationHoldsOtherFiles"/>)
    /// unless <see cref="ConnectRemoteRequest.Force"/>.
    /// </summary>
    Task<Remote> ConnectRemoteAsync(ConnectRemoteRequest request, IProgress<SyncProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Stops mirroring to a remote. Its data stays as it is.</summary>
    Task<Remote> DisconnectRemoteAsync(string workspace, string name, CancellationToken cancellationToken);

    /// <summary>The remotes of one workspace, or of all when <paramref name="workspace"/> is null.</summary>
    Task<IReadOnlyList<Remote>> GetRemotesAsync(string? workspace, CancellationToken cancellationToken);

    /// <summary>A full reconcile of every remote now; returns when it is done.</summary>
    Task<Workspace> SyncWorkspaceAsync(string name, IProgress<SyncProgress>? progress, CancellationToken cancellationToken);

    /// <summary>A barrier: returns when every change made before the call is on every remote.</summary>
    Task<Workspace> WaitWorkspaceAsync(string name, int timeoutMilliseconds, CancellationToken cancellationToken);

    Task<Workspace> SuspendWorkspaceAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Resumes a suspended, failed or halted workspace. Refused with <see cref="ErrorIds.ResumeWouldEmptyRemotes"/>
    /// when its root is empty and it has remotes (resuming would empty them), unless <paramref name="force"/>.
    /// </summary>
    Task<Workspace> ResumeWorkspaceAsync(string name, bool force, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the events of the chosen workspaces to <paramref name="events"/> until the caller cancels
    /// or disconnects; never returns otherwise. A caller that falls behind loses events, and is told how
    /// many by one <see cref="SyncEventKind.EventsDropped"/>.
    /// </summary>
    Task WatchAsync(WatchRequest request, IProgress<SyncEvent> events, CancellationToken cancellationToken);
}
