using Wsync.Rpc;

namespace Wsync.Engine;

/// <summary>
/// The proxy every cmdlet call goes through: failures become WsyncExceptions, lost connections are
/// reopened once for reads (starting the daemon again only when the session was opened with autoStart).
/// </summary>
internal sealed class DaemonSession(DaemonConnection connection, ICollection<string> notes, bool autoStart) : IWsyncDaemon
{
    private DaemonConnection connection = connection;

    public Task<DaemonInfo> HandshakeAsync(int protocolVersion, string clientVersion, CancellationToken cancellationToken) =>
        Read(d => d.HandshakeAsync(protocolVersion, clientVersion, cancellationToken), cancellationToken);

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken cancellationToken) =>
        Read(d => d.GetDaemonInfoAsync(cancellationToken), cancellationToken);

    public Task ShutdownAsync(CancellationToken cancellationToken) =>
        RpcErrors.Call(connection.Daemon.ShutdownAsync(cancellationToken), "daemon");

    public Task<Workspace> AddWorkspaceAsync(AddWorkspaceRequest request, CancellationToken cancellationToken) =>
        Write(d => d.AddWorkspaceAsync(request, cancellationToken));

    public Task<Workspace> RemoveWorkspaceAsync(string name, CancellationToken cancellationToken) =>
        Write(d => d.RemoveWorkspaceAsync(name, cancellationToken));

    public Task<IReadOnlyList<Workspace>> GetWorkspacesAsync(CancellationToken cancellationToken) =>
        Read(d => d.GetWorkspacesAsync(cancellationToken), cancellationToken);

    public Task<Remote> ConnectRemoteAsync(ConnectRemoteRequest request, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
        Write(d => d.ConnectRemoteAsync(request, progress, cancellationToken));

    public Task<Remote> DisconnectRemoteAsync(string workspace, string name, CancellationToken cancellationToken) =>
        Write(d => d.DisconnectRemoteAsync(workspace, name, cancellationToken));

    public Task<IReadOnlyList<Remote>> GetRemotesAsync(string? workspace, CancellationToken cancellationToken) =>
        Read(d => d.GetRemotesAsync(workspace, cancellationToken), cancellationToken);

    public Task<Workspace> SyncWorkspaceAsync(string name, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
        Write(d => d.SyncWorkspaceAsync(name, progress, cancellationToken));

    public Task<Workspace> WaitWorkspaceAsync(string name, int timeoutMilliseconds, CancellationToken cancellationToken) =>
        Write(d => d.WaitWorkspaceAsync(name, timeoutMilliseconds, cancellationToken));

    public Task<Workspace> SuspendWorkspaceAsync(string name, CancellationToken cancellationToken) =>
        Write(d => d.SuspendWorkspaceAsync(name, cancellationToken));

    public Task<Workspace> ResumeWorkspaceAsync(string name, bool force, CancellationToken cancellationToken) =>
        Write(d => d.ResumeWorkspaceAsync(name, force, cancellationToken));

    /// <summary>Not retried: a watch that lost its daemon ends, since the events in between are gone.</summary>
    public Task WatchAsync(WatchRequest request, IProgress<SyncEvent> events, CancellationToken cancellationToken) =>
        RpcErrors.Call(connection.Daemon.WatchAsync(request, events, cancellationToken), "daemon");

    /// <summary>A call that changes nothing: retried once on a fresh connection if the daemon went away.</summary>
    private async Task<T> Read<T>(Func<IWsyncDaemon, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await RpcErrors.Call(call(connection.Daemon), "daemon").ConfigureAwait(false);
        }
        catch (WsyncException exception) when (exception.ErrorId == ErrorIds.DaemonUnreachable)
        {
            connection = await DaemonClient.GetConnectionAsync(autoStart, notes, cancellationToken).ConfigureAwait(false);
            return await RpcErrors.Call(call(connection.Daemon), "daemon").ConfigureAwait(false);
        }
    }

    /// <summary>A call that changes state: never repeated, since the first may have been applied.</summary>
    private Task<T> Write<T>(Func<IWsyncDaemon, Task<T>> call) => RpcErrors.Call(call(connection.Daemon), "daemon");
}
