using Serilog;
using StreamJsonRpc;
using Wsync.Rpc;
using Wsync.Platform;

namespace Wsync.Monitor;

/// <summary>
/// wsync-monitor --workspace-id ID --workspace-name NAME --log-directory DIR [--lock-file FILE]: serve the daemon on stdin/stdout,
/// holding an exclusive flock on FILE for as long as it runs (exit code 75 if another monitor keeps it).
/// wsync-monitor --probe: read a remote definition (JSON) on stdin, check it can work, exit 0 or print a ProbeFailure.
/// </summary>
internal static class Program
{
    /// <summary>
    /// How long a new monitor waits for the previous one of its workspace to let go of the lock. The daemon
    /// kills leftover monitors before it starts new ones, so the lock is normally free or freed within
    /// moments; past this the start counts as a crash and the daemon retries with backoff.
    /// </summary>
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);

    /// <summary>Between two tries of the non-blocking flock while waiting.</summary>
    private static readonly TimeSpan LockRetryInterval = TimeSpan.FromMilliseconds(50);

    public static async Task<int> Main(string[] args)
    {
        if (args is ["--version"])
        {
            Console.WriteLine($"wsync-monitor {ProtocolInfo.ProductVersion} (protocol {ProtocolInfo.Version})");
            return 0;
        }

        if (args is ["--probe"])
        {
            return await Probe.RunAsync(Console.In, Console.Out).ConfigureAwait(false);
        }

        string? name = null;
        string? logDirectory = null;
        string? lockFile = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--workspace-name":
                    name = args[i + 1];
                    break;
                case "--log-directory":
                    logDirectory = args[i + 1];
                    break;
                case "--lock-file":
                    lockFile = args[i + 1];
                    break;
            }
        }

        if (name is null || logDirectory is null || Console.IsInputRedirected is false)
        {
            Console.Error.WriteLine("wsync-monitor is started by wsyncd, one per workspace; it is not run by hand.");
            return (int)MonitorExit.Usage;
        }

        // Before any child starts: they join this group, and the daemon kills the group when this monitor
        // exits, so no rsync or ssh master outlives a monitor that was killed or crashed.
        ProcessTree.BecomeGroupLeader();

        // Two monitors of one workspace would race each other's rsyncs: hold the workspace's lock for life.
        using var exclusive = lockFile is null ? null : await AcquireAsync(lockFile).ConfigureAwait(false);
        if (lockFile is not null && exclusive is null)
        {
            Console.Error.WriteLine($"wsync-monitor: another monitor of '{name}' still holds {lockFile} after {LockWait.TotalSeconds:0} s.");
            return (int)MonitorExit.LockHeld;
        }

        var log = Logging.Create(logDirectory, $"monitor-{name}", "wsync-monitor", console: false, workspace: name);
        using var disposeLog = log as IDisposable;

        // stdout is the channel to the daemon: nothing else may write to it.
        var channel = Console.OpenStandardOutput();
        Console.SetOut(TextWriter.Null);
        // Typed as JsonRpc: the build routes Attach to the generated proxy only for calls on JsonRpc itself.
        using JsonRpc rpc = RpcChannel.Create(channel, Console.OpenStandardInput());
        IMonitorHost host = rpc.Attach<IMonitorHostContract>();
        await using var service = new MonitorService(host, log);
        RpcChannel.AddTarget<IMonitor>(rpc, service);
        rpc.StartListening();
        log.Information("Monitor started");

        // The daemon closes the channel after a shutdown was acknowledged, or by going away: either
        // way there is no one left to serve. A daemon that asked but never closes gets a short grace.
        var asked = service.Stopped.ContinueWith(_ => Task.Delay(StopGraces.ChannelClose), TaskScheduler.Default).Unwrap();
        await Task.WhenAny(rpc.Completion, asked).ConfigureAwait(false);
        log.Information(service.Stopped.IsCompleted ? "Monitor stopped on request" : "The daemon went away; monitor stopped");
        return 0;
    }

    /// <summary>An exclusive flock on <paramref name="path"/> (kept while the stream is open), waiting up to <see cref="LockWait"/>; null if it stays taken.</summary>
    private static async Task<FileStream?> AcquireAsync(string path)
    {
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None, // flock(LOCK_EX | LOCK_NB); the descriptor is close-on-exec, so rsync and ssh do not inherit it
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException exception) when (exception is not DirectoryNotFoundException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(LockRetryInterval).ConfigureAwait(false);
            }
            catch (IOException exception) when (exception is not DirectoryNotFoundException)
            {
                return null;
            }
        }
    }
}
