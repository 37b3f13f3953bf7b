using System.Net.Sockets;
using Serilog;
using StreamJsonRpc;
using Wsync.Rpc;
using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// The daemon's Unix socket: 0600 in a 0700 directory, and every peer's uid checked with SO_PEERCRED,
/// so only the user who owns the daemon can talk to it. Each connection gets its own JSON-RPC session
/// and <see cref="ClientSession"/> over the shared <see cref="DaemonService"/>; one client's failure never
/// touches another's, and a client that disconnects has its calls (a watch) cancelled.
/// </summary>
internal sealed class RpcServer(string socketPath, DaemonService service, ILogger log) : IAsyncDisposable
{
    /// <summary>
    /// Connections the kernel queues before the accept loop takes them. A Unix socket refuses a connect
    /// (EAGAIN) once the queue is full, and 200 clients starting at once overflowed 128 in the load test.
    /// </summary>
    private const int Backlog = 1024;

    /// <summary>
    /// How long the daemon has had no client before it hands back the memory a burst of them grew: the GC keeps
    /// its heap at the size the busiest moment needed (200 clients left 60-90 MB more than one did), and an idle
    /// daemon should weigh what an idle daemon needs.
    /// </summary>
    private static readonly TimeSpan TrimAfterIdle = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource stopping = new();

    /// <summary>The open sessions, so they can be closed on shutdown. Guarded by itself.</summary>
    private readonly HashSet<JsonRpc> sessions = [];

    private Socket? listener;
    private Task? acceptLoop;

    /// <summary>Counts the times the last session closed; a trim goes ahead only if no client came and went since. Guarded by <see cref="sessions"/>.</summary>
    private long idleSince;

    /// <summary>Binds the socket. Throws <see cref="WsyncException"/> when another daemon answers on it.</summary>
    public void Start()
    {
        var directory = Path.GetDirectoryName(socketPath)!;
        PrepareDirectory(directory);
        if (File.Exists(socketPath) || Directory.Exists(socketPath))
        {
            if (IsAlive(socketPath))
            {
                throw new WsyncException(ErrorIds.DaemonAlreadyRunning, WsyncErrorCategory.ResourceExists, socketPath,
                    $"Another daemon is listening on {socketPath}.");
            }

            File.Delete(socketPath); // stale: left by a daemon that was killed
        }

        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(Backlog);
        acceptLoop = Task.Run(AcceptAsync);
        log.Information("Listening on {SocketPath}", socketPath);
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        listener?.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop.ConfigureAwait(false);
        }

        JsonRpc[] open;
        lock (sessions)
        {
            open = [.. sessions];
        }

        foreach (var session in open)
        {
            session.Dispose();
        }

        try
        {
            File.Delete(socketPath);
        }
        catch (IOException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener!.AcceptAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                log.Warning(exception, "Accepting a connection failed");
                continue;
            }

            Serve(client);
        }
    }

    private void Serve(Socket client)
    {
        var peer = Native.GetPeerCredentials(client);
        var me = Posix.EffectiveUserId();
        if (peer is null || peer.Value.UserId != me)
        {
            log.Warning("Refused a connection from uid {Uid} (pid {Pid}): only uid {Me} may use this daemon",
                peer?.UserId, peer?.ProcessId, me);
            client.Dispose();
            return;
        }

        var stream = new NetworkStream(client, ownsSocket: true);
        var session = RpcChannel.Create(stream);
        RpcChannel.AddTarget<IWsyncDaemon>(session, new ClientSession(service, session));
        session.CancelLocallyInvokedMethodsWhenConnectionIsClosed = true;
        lock (sessions)
        {
            sessions.Add(session);
        }

        session.StartListening();
        _ = session.Completion.ContinueWith(_ =>
        {
            long? idle = null;
            lock (sessions)
            {
                if (sessions.Remove(session) && sessions.Count == 0)
                {
                    idle = ++idleSince;
                }
            }

            session.Dispose();
            if (idle is { } mark)
            {
                _ = TrimWhenStillIdleAsync(mark);
            }
        }, TaskScheduler.Default);
    }

    private async Task TrimWhenStillIdleAsync(long mark)
    {
        try
        {
            await Task.Delay(TrimAfterIdle, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (sessions)
        {
            if (sessions.Count != 0 || idleSince != mark)
            {
                return;
            }
        }

        var before = Environment.WorkingSet;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        log.Debug("No client for {Seconds} s: memory trimmed from {Before} MB to {After} MB", TrimAfterIdle.TotalSeconds, before >> 20, Environment.WorkingSet >> 20);
    }

    /// <summary>Makes the socket's directory, which must end up private to this user.</summary>
    private static void PrepareDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var identity = Posix.Status(directory);
        var me = Posix.EffectiveUserId();
        if (!identity.Exists || identity.Owner != me || (identity.Mode & 0x3f) != 0)
        {
            throw new WsyncException(ErrorIds.ConfigInvalid, WsyncErrorCategory.SecurityError, directory,
                $"The socket directory '{directory}' must belong to you and be private (chmod 700 '{directory}'), " +
                "or set DaemonCommandSocketPath to a path in a private directory.");
        }
    }

    private static bool IsAlive(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
