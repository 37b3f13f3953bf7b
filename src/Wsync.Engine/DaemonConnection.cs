using System.Net.Sockets;
using Wsync.Rpc;

namespace Wsync.Engine;

/// <summary>One open, handshaken connection to a daemon.</summary>
internal sealed class DaemonConnection : IDisposable
{
    private readonly WsyncJsonRpc rpc;

    private DaemonConnection(string socketPath, WsyncJsonRpc rpc, IWsyncDaemon daemon, DaemonInfo info)
    {
        SocketPath = socketPath;
        this.rpc = rpc;
        Daemon = daemon;
        Info = info;
    }

    public string SocketPath { get; }

    public IWsyncDaemon Daemon { get; }

    public DaemonInfo Info { get; }

    public bool IsAlive => !rpc.Completion.IsCompleted;

    /// <summary>Connects and handshakes. DaemonNotRunning when nothing listens; DaemonUnreachable when it does not answer.</summary>
    public static async Task<DaemonConnection> OpenAsync(string socketPath, TimeSpan handshakeTimeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw new WsyncException(ErrorIds.DaemonNotRunning, WsyncErrorCategory.ResourceUnavailable, socketPath,
                $"No wsync daemon listens on {socketPath} ({exception.SocketErrorCode}). Start-WsyncDaemon starts it.", exception);
        }

        var rpc = RpcChannel.Create(new NetworkStream(socket, ownsSocket: true));
        var daemon = rpc.Attach<IWsyncDaemon>();
        rpc.StartListening();
        try
        {
            var info = await RpcErrors.Call(daemon.HandshakeAsync(ProtocolInfo.Version, ProtocolInfo.ProductVersion, cancellationToken), "daemon")
                .WaitAsync(handshakeTimeout, cancellationToken).ConfigureAwait(false);
            return new DaemonConnection(socketPath, rpc, daemon, info);
        }
        catch (TimeoutException exception)
        {
            rpc.Dispose();
            throw new WsyncException(ErrorIds.DaemonUnreachable, WsyncErrorCategory.OperationTimeout, socketPath,
                $"The daemon on {socketPath} accepted the connection but did not answer within {handshakeTimeout.TotalSeconds:0} s.", exception);
        }
        catch
        {
            rpc.Dispose();
            throw;
        }
    }

    public void Dispose() => rpc.Dispose();
}
