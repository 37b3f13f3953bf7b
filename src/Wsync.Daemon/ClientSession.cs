using StreamJsonRpc;

namespace Wsync.Daemon;

/// <summary>
/// The <see cref="IWsyncDaemon"/> target of one client connection: every call goes to the shared
/// <see cref="DaemonService"/>, but a watch is paced by this connection's socket (see <see cref="WatchAsync"/>).
/// </summary>
internal sealed class ClientSession(DaemonService daemon, JsonRpc connection) : IWsyncDaemon
{
    /// <summary>
    /// A notification the client ignores (JSON-RPC methods starting with <c>$/</c> are optional, and the
    /// client has no target for it). Sent after each run of events: its send completes only once the
    /// events before it were written, so a client that stops reading its socket stops the watch loop
    /// instead of piling up unsent notifications in the daemon.
    /// </summary>
    private const string PaceNotification = "$/wsyncEventsSent";

    public Task<DaemonInfo> HandshakeAsync(int protocolVersion, string clientVersion, CancellationToken cancellationToken) =>
        daemon.HandshakeAsync(protocolVersion, clientVersion, cancellationToken);

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken cancellationToken) => daemon.GetDaemonInfoAsync(cancellationToken);

    public Task ShutdownAsync(CancellationToken cancellationToken) => daemon.ShutdownAsync(cancellationToken);

    public Task<Workspace> AddWorkspaceAsync(AddWorkspaceRequest request, CancellationToken cancellationToken) =>
        daemon.AddWorkspaceAsync(request, cancellationToken);

    public Task<Workspace> RemoveWorkspaceAsync(string name, CancellationToken cancellationToken) =>
        daemon.RemoveWorkspaceAsync(name, cancellationToken);

    public Task<IReadOnlyList<Workspace>> GetWorkspacesAsync(CancellationToken cancellationToken) => daemon.GetWorkspacesAsync(cancellationToken);

    public Task<Remote> ConnectRemoteAsync(ConnectRemoteRequest request, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
        daemon.ConnectRemoteAsync(request, progress, cancellationToken);

    public Task<Remote> DisconnectRemoteAsync(string workspace, string name, CancellationToken cancellationToken) =>
        daemon.DisconnectRemoteAsync(workspace, name, cancellationToken);

    public Task<IReadOnlyList<Remote>> GetRemotesAsync(string? workspace, CancellationToken cancellationToken) =>
        daemon.GetRemotesAsync(workspace, cancellationToken);

    public Task<Workspace> SyncWorkspaceAsync(string name, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
        daemon.SyncWorkspaceAsync(name, progress, cancellationToken);

    public Task<Workspace> WaitWorkspaceAsync(string name, int timeoutMilliseconds, CancellationToken cancellationToken) =>
        daemon.WaitWorkspaceAsync(name, timeoutMilliseconds, cancellationToken);

    public Task<Workspace> SuspendWorkspaceAsync(string name, CancellationToken cancellationToken) =>
        daemon.SuspendWorkspaceAsync(name, cancellationToken);

    public Task<Workspace> ResumeWorkspaceAsync(string name, bool force, CancellationToken cancellationToken) =>
        daemon.ResumeWorkspaceAsync(name, force, cancellationToken);

    public Task WatchAsync(WatchRequest request, IProgress<SyncEvent> events, CancellationToken cancellationToken) =>
        daemon.WatchAsync(request, events, () => connection.NotifyAsync(PaceNotification), cancellationToken);
}
