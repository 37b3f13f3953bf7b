using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wsync.TestSupport;

/// <summary>
/// A slow network in front of a local TCP service (the test sshd): a relay on 127.0.0.1 that passes
/// what the client sends at no more than a set number of bytes per second, so that a sync of a few
/// megabytes takes seconds, as it does over a real uplink, without the tests waiting on a clock.
/// The replies pass at full speed. <see cref="Cut"/> drops the connections open now (a network cut
/// that heals at once); <see cref="Dispose"/> closes the listener and every relayed connection.
/// </summary>
public sealed class SlowLink : IDisposable
{
    /// <summary>
    /// The most the relay reads at once. Small enough that pacing is smooth at a few MB/s (a chunk is a
    /// few milliseconds of link time), large enough that pacing costs little CPU.
    /// </summary>
    private const int ChunkBytes = 16 * 1024;

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly int targetPort;
    private readonly long bytesPerSecond;
    private readonly CancellationTokenSource closing = new();

    /// <summary>Guards <see cref="open"/>.</summary>
    private readonly Lock gate = new();

    /// <summary>Cancelled to drop every connection relayed so far; replaced by a fresh one on each cut.</summary>
    private CancellationTokenSource open = new();

    public SlowLink(int targetPort, long bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        this.targetPort = targetPort;
        this.bytesPerSecond = bytesPerSecond;
        listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>The port to connect to instead of the service's own.</summary>
    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Drops every connection relayed now; new ones are accepted as before.</summary>
    public void Cut()
    {
        CancellationTokenSource dropped;
        lock (gate)
        {
            dropped = open;
            open = new CancellationTokenSource();
        }

        dropped.Cancel();
    }

    public void Dispose()
    {
        closing.Cancel();
        listener.Stop();
        Cut();
    }

    private async Task AcceptAsync()
    {
        while (!closing.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(closing.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            CancellationToken cut;
            lock (gate)
            {
                cut = open.Token;
            }

            _ = RelayAsync(client, CancellationTokenSource.CreateLinkedTokenSource(closing.Token, cut));
        }
    }

    private async Task RelayAsync(TcpClient client, CancellationTokenSource ending)
    {
        using var _ = client;
        using var __ = ending;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, targetPort, ending.Token).ConfigureAwait(false);
            client.NoDelay = true;
            server.NoDelay = true;
            var up = CopyAsync(client.GetStream(), server.GetStream(), paced: true, ending.Token);
            var down = CopyAsync(server.GetStream(), client.GetStream(), paced: false, ending.Token);
            await Task.WhenAny(up, down).ConfigureAwait(false);
            await ending.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or IOException)
        {
        }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, bool paced, CancellationToken ending)
    {
        var buffer = new byte[ChunkBytes];
        var clock = Stopwatch.StartNew();
        double sent = 0;
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, ending).ConfigureAwait(false)) > 0)
            {
                if (paced)
                {
                    // The link is busy until every byte so far has had its share of time: wait for that moment.
                    sent += read;
                    var due = TimeSpan.FromSeconds(sent / bytesPerSecond) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, ending).ConfigureAwait(false);
                    }
                    else
                    {
                        // An idle link does not bank its unused time for a later burst.
                        sent = clock.Elapsed.TotalSeconds * bytesPerSecond;
                    }
                }

                await to.WriteAsync(buffer.AsMemory(0, read), ending).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            // Closing one direction ends the relay: the other side sees the connection end, as on a real cut.
            from.Close();
            to.Close();
        }
    }
}
