using System.Net.Sockets;
using StreamJsonRpc;
using Wsync.Rpc;

namespace Wsync.Tests.Daemon;

/// <summary>A raw JSON-RPC client of a test daemon: the same proxy the module's engine uses.</summary>
internal sealed class TestClient : IDisposable
{
    private readonly JsonRpc rpc;

    private TestClient(JsonRpc rpc, IWsyncDaemon daemon)
    {
        this.rpc = rpc;
        Daemon = daemon;
    }

    public IWsyncDaemon Daemon { get; }

    public Task Completion => rpc.Completion;

    public static async Task<TestClient> ConnectAsync(string socketPath, bool handshake = true)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        var rpc = RpcChannel.Create(new NetworkStream(socket, ownsSocket: true));
        var daemon = rpc.Attach<IWsyncDaemon>();
        rpc.StartListening();
        var client = new TestClient(rpc, daemon);
        if (handshake)
        {
            await client.Call(daemon.HandshakeAsync(ProtocolInfo.Version, "test", CancellationToken.None));
        }

        return client;
    }

    /// <summary>Awaits a call, translating failures to WsyncException as the engine does.</summary>
    public Task<T> Call<T>(Task<T> call) => RpcErrors.Call(call, "daemon");

    public void Dispose() => rpc.Dispose();
}
