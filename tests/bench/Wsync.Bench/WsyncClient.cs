using System.Net.Sockets;
using StreamJsonRpc;
using Wsync.Rpc;

namespace Wsync.Bench;

/// <summary>A JSON-RPC client of the bench's daemon: the same contract and proxy the module's engine uses.</summary>
internal sealed class WsyncClient : IDisposable
{
    private readonly JsonRpc rpc;

    private WsyncClient(JsonRpc rpc)
    {
        this.rpc = rpc;
        Daemon = rpc.Attach<IWsyncDaemon>();
    }

    public IWsyncDaemon Daemon { get; }

    public static async Task<WsyncClient> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        var client = new WsyncClient(RpcChannel.Create(new NetworkStream(socket, ownsSocket: true)));
        client.rpc.StartListening();
        await client.Call(client.Daemon.HandshakeAsync(ProtocolInfo.Version, "bench", CancellationToken.None));
        return client;
    }

    public Task<T> Call<T>(Task<T> call) => RpcErrors.Call(call, "daemon");

    public void Dispose() => rpc.Dispose();
}
