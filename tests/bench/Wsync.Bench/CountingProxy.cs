using System.Net;
using System.Net.Sockets;

namespace Wsync.Bench;

/// <summary>
/// A TCP relay in front of the loopback sshd that counts the bytes each way: how much a contender sent to
/// the remote, whatever ssh connections it opened (lsyncd with defaults opens one per command).
/// </summary>
internal sealed class CountingProxy : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly int target;
    private readonly CancellationTokenSource stop = new();
    private long sent;

    public CountingProxy(int targetPort)
    {
        target = targetPort;
        listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Bytes from the client side to the server so far.</summary>
    public long BytesSent => Interlocked.Read(ref sent);

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        client.NoDelay = true;
        server.NoDelay = true;
        await server.ConnectAsync(IPAddress.Loopback, target);
        var up = CopyAsync(client.GetStream(), server.GetStream(), count: true);
        var down = CopyAsync(server.GetStream(), client.GetStream(), count: false);
        await Task.WhenAny(up, down);
        client.Close();
        server.Close();
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, bool count)
    {
        var buffer = new byte[128 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, stop.Token)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), stop.Token);
                if (count)
                {
                    Interlocked.Add(ref sent, read);
                }
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }
}
