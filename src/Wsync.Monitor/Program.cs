using Serilog;
using StreamJsonRpc;
using Wsync.Rpc;

namespace Wsync.Monitor;

/// <summary>
/// wsync-monitor --workspace-id ID --workspace-name NAME --log-directory DIR: serve the daemon on stdin/stdout.
/// wsync-monitor --probe: read a remote definition (JSON) on stdin, check it can work, exit 0 or print a ProbeFailure.
/// </summary>
internal static class Program
{
    /// <summary>How long a monitor told to shut down waits for the daemon to close the channel.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(2);

    public static async Task<int> Main(string[] args)
    {
        if (args is ["--probe"])
        {
            return await Probe.RunAsync(Console.In, Console.Out).ConfigureAwait(false);
        }

        string? name = null;
        string? logDirectory = null;
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
            }
        }

        if (name is null || logDirectory is null || Console.IsInputRedirected is false)
        {
            Console.Error.WriteLine("wsync-monitor is started by wsyncd, one per workspace; it is not run by hand.");
            return 64;
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
        var asked = service.Stopped.ContinueWith(_ => Task.Delay(ShutdownGrace), TaskScheduler.Default).Unwrap();
        await Task.WhenAny(rpc.Completion, asked).ConfigureAwait(false);
        log.Information(service.Stopped.IsCompleted ? "Monitor stopped on request" : "The daemon went away; monitor stopped");
        return 0;
    }
}
