using System.Runtime.InteropServices;
using System.Text;
using Serilog;

namespace Wsync.Daemon;

/// <summary>wsyncd [--home DIR] [--detach]; its exit codes are <see cref="DaemonExit"/>.</summary>
internal static class Program
{
    private const string Usage = """
        usage: wsyncd [--home DIR] [--detach]
          --home DIR   the wsync home (default: $WSYNC_HOME, or ~/.wsync)
          --detach     start a new session and, once listening, close stdin/stdout/stderr
        The wsync PowerShell module starts wsyncd by itself; running it by hand is for debugging.
        Exit codes: 0 stopped on request, 1 failed, 2 configuration unusable, 3 already running,
          4 ended by the watchdog (an operation left the state poisoned or deadlocked; see the log),
          64 bad command line.
        """;

    public static async Task<int> Main(string[] args)
    {
        string? home = null;
        var detach = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--home" when i + 1 < args.Length:
                    home = Path.GetFullPath(args[++i]);
                    break;
                case "--detach":
                    detach = true;
                    break;
                case "--version":
                    Console.WriteLine($"wsyncd {ProtocolInfo.ProductVersion} (protocol {ProtocolInfo.Version})");
                    return 0;
                case "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    Console.Error.WriteLine($"wsyncd: unknown argument '{args[i]}'\n{Usage}");
                    return (int)DaemonExit.Usage;
            }
        }

        if (detach)
        {
            Native.StartNewSession();
        }

        home ??= WsyncConfig.ResolveHome();
        WsyncConfig config;
        try
        {
            config = WsyncConfig.LoadOrCreate(home);
        }
        catch (Exception exception) when (exception is WsyncConfigException or WsyncException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"wsyncd: {exception.Message}");
            return (int)DaemonExit.ConfigurationUnusable;
        }

        if (Encoding.UTF8.GetByteCount(config.DaemonCommandSocketPath) > WsyncConfig.MaxSocketPathBytes)
        {
            Console.Error.WriteLine($"wsyncd: DaemonCommandSocketPath '{config.DaemonCommandSocketPath}' is longer than " +
                $"{WsyncConfig.MaxSocketPathBytes} bytes, the limit of a Unix socket path; choose a shorter one in {config.ConfigFilePath}.");
            return (int)DaemonExit.ConfigurationUnusable;
        }

        var log = Logging.Create(config.LogDirectory, "wsyncd", "wsyncd", console: !detach);
        try
        {
            return await RunAsync(config, detach, log, FaultInjection.FromEnvironment()).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            log.Fatal(exception, "wsyncd failed");
            Console.Error.WriteLine($"wsyncd: {exception.Message}");
            return (int)DaemonExit.Failed;
        }
        finally
        {
            (log as IDisposable)?.Dispose();
        }
    }

    private static async Task<int> RunAsync(WsyncConfig config, bool detach, ILogger log, FaultInjection faults)
    {
        foreach (var warning in config.Warnings)
        {
            log.Warning("{Warning}", warning);
        }

        using var instance = InstanceLock.TryAcquire(config, out var holder);
        if (instance is null)
        {
            Console.Error.WriteLine($"wsyncd: already running for {config.Home} (pid {holder}, socket {config.DaemonCommandSocketPath}).");
            return (int)DaemonExit.AlreadyRunning;
        }

        var monitorExecutable = config.MonitorExecutablePath ?? Path.Combine(AppContext.BaseDirectory, "wsync-monitor");
        if (!File.Exists(monitorExecutable))
        {
            Console.Error.WriteLine($"wsyncd: the monitor executable '{monitorExecutable}' does not exist; fix MonitorExecutablePath in {config.ConfigFilePath}.");
            return (int)DaemonExit.ConfigurationUnusable;
        }

        var store = new WorkspaceStore(config.WorkspaceConfigFilePath);
        IReadOnlyList<WorkspaceDefinition> workspaces;
        try
        {
            workspaces = store.LoadOrCreate();
        }
        catch (WorkspaceFileException exception)
        {
            log.Fatal("{Message}", exception.Message);
            Console.Error.WriteLine($"wsyncd: {exception.Message}");
            return (int)DaemonExit.ConfigurationUnusable;
        }

        var registry = new WorkspaceRegistry(store, workspaces, faults);
        var shutdown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var monitorRecords = new MonitorRecords(Path.Combine(config.Home, "monitors"));
        monitorRecords.KillLeftovers(log);
        var policy = new SupervisionPolicy
        {
            CrashThreshold = config.MonitorCrashThreshold,
            CrashWindow = config.MonitorCrashWindow,
            HeartbeatTimeout = faults.HeartbeatTimeout ?? SupervisionPolicy.DefaultHeartbeatTimeout,
        };
        var events = new EventHub();
        await using var supervisor = new MonitorSupervisor(monitorExecutable, config.LogDirectory, monitorRecords, policy, events, log);
        var probe = new DestinationProbe(monitorExecutable, TimeSpan.FromSeconds(30));
        var service = new DaemonService(config, registry, supervisor, probe, events, () => shutdown.TrySetResult(), log);
        await using var server = new RpcServer(config.DaemonCommandSocketPath, service, log);
        try
        {
            server.Start();
        }
        catch (WsyncException exception)
        {
            Console.Error.WriteLine($"wsyncd: {exception.Message}");
            return exception.ErrorId == ErrorIds.DaemonAlreadyRunning ? (int)DaemonExit.AlreadyRunning : (int)DaemonExit.ConfigurationUnusable;
        }

        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => context.Cancel = true);

        log.Information("wsyncd {Version} started (pid {Pid}) for {Home} with {Count} workspaces",
            ProtocolInfo.ProductVersion, Environment.ProcessId, config.Home, workspaces.Count);
        if (detach)
        {
            Native.DetachStandardStreams();
        }
        else
        {
            Console.Error.WriteLine($"wsyncd {ProtocolInfo.ProductVersion} listening on {config.DaemonCommandSocketPath} (pid {Environment.ProcessId})");
        }

        foreach (var workspace in workspaces)
        {
            await supervisor.ApplyAsync(workspace, CancellationToken.None).ConfigureAwait(false);
        }

        using var stopWatching = new CancellationTokenSource();
        var watchdog = new Watchdog(registry.Lock, faults.StateLockDeadline ?? Watchdog.DefaultDeadline).WatchAsync(stopWatching.Token);
        if (await Task.WhenAny(shutdown.Task, watchdog).ConfigureAwait(false) == watchdog && await watchdog.ConfigureAwait(false) is { } fault)
        {
            // Serve nothing more: no cleanup that could wait on the broken state. The monitors see their
            // channel close and exit; the next daemon kills any that lingers (MonitorRecords).
            log.Fatal("Watchdog: {Fault}; ending the daemon (exit code {ExitCode}) so that a fresh one reloads the workspace file", fault, (int)DaemonExit.EndedByWatchdog);
            (log as IDisposable)?.Dispose(); // flushes and closes the log file before the process goes
            Environment.Exit((int)DaemonExit.EndedByWatchdog);
        }

        await stopWatching.CancelAsync().ConfigureAwait(false);
        log.Information("Stopping: ending {Count} monitors", supervisor.Count);
        await supervisor.DisposeAsync().ConfigureAwait(false);
        log.Information("Stopped");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            shutdown.TrySetResult();
        }
    }
}
