using System.Diagnostics;
using Serilog;
using StreamJsonRpc;
using Wsync.Rpc;
using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// One workspace's monitor process: starts it, hands it its configuration, receives its status and
/// events (passed on to the <see cref="EventHub"/> with its own: the monitor exited, restarted, failed),
/// restarts it with backoff when it dies, and gives up past the crash threshold.
/// </summary>
internal sealed class MonitorHandle : IAsyncDisposable
{
    /// <summary>The monitor argument naming its workspace; also how a leftover monitor is recognised in /proc.</summary>
    public const string WorkspaceIdArgument = "--workspace-id";

    private readonly string executable;
    private readonly string logDirectory;
    private readonly MonitorRecords records;
    private readonly SupervisionPolicy policy;
    private readonly EventHub events;
    private readonly ILogger log;

    /// <summary>Guards <see cref="definition"/>, <see cref="state"/>, <see cref="failureReason"/>, <see cref="crashes"/>, <see cref="ready"/> and <see cref="resumed"/>.</summary>
    private readonly Lock gate = new();

    /// <summary>Serialises configuration pushes so the monitor sees them in order.</summary>
    private readonly SemaphoreSlim configuring = new(1, 1);

    /// <summary>Cancelled once, when the handle is stopped for good.</summary>
    private readonly CancellationTokenSource stopping = new();

    /// <summary>The configuration the monitor should have: the latest the daemon published.</summary>
    private WorkspaceDefinition definition;

    private SupervisionState state = SupervisionState.Starting;

    /// <summary>Why the monitor is Failed; null in every other state.</summary>
    private string? failureReason;

    /// <summary>The crashes left before the monitor is left Failed. Guarded by <see cref="gate"/>.</summary>
    private readonly CrashBudget crashes;

    /// <summary>Completes with the running monitor's proxy once it took its configuration; replaced at each start.</summary>
    private TaskCompletionSource<IMonitor> ready = NewReady();

    /// <summary>Completed by <see cref="ResetFailures"/> to wake a Failed supervision loop.</summary>
    private TaskCompletionSource resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the monitor reports (its status, its events); the monitor's side of the channel calls it.</summary>
    private readonly MonitorReports reports;

    /// <summary>The running monitor's process id; 0 when none runs.</summary>
    private volatile int processId;

    private Task? loop;

    public MonitorHandle(WorkspaceDefinition definition, string executable, string logDirectory, MonitorRecords records, SupervisionPolicy policy, EventHub events, ILogger log)
    {
        this.events = events;
        this.definition = definition;
        this.executable = executable;
        this.logDirectory = logDirectory;
        this.records = records;
        this.policy = policy;
        crashes = new CrashBudget(policy, TimeProvider.System);
        reports = new MonitorReports(events, () =>
        {
            lock (gate)
            {
                return (this.definition.Name, this.definition.Id);
            }
        });
        this.log = log.ForContext("Workspace", definition.Name);
    }

    public Guid WorkspaceId => definition.Id;

    public WorkspaceStatus? Status => reports.Latest;

    public int? ProcessId => processId == 0 ? null : processId;

    public (SupervisionState State, string? Reason) Supervision
    {
        get
        {
            lock (gate)
            {
                return (state, failureReason);
            }
        }
    }

    public void Start() => loop = Task.Run(SuperviseAsync);

    /// <summary>Publishes a new configuration and, when the monitor runs, hands it over.</summary>
    public async Task ReconfigureAsync(WorkspaceDefinition next, CancellationToken cancellationToken)
    {
        Task<IMonitor> running;
        lock (gate)
        {
            definition = next;
            running = ready.Task;
        }

        if (!running.IsCompletedSuccessfully)
        {
            return; // the next start hands over the latest definition
        }

        await PushConfigurationAsync(running.Result, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The running monitor, waiting for a start in progress; a <see cref="WsyncException"/> if none comes.</summary>
    public async Task<IMonitor> GetMonitorAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task<IMonitor> running;
        lock (gate)
        {
            if (state == SupervisionState.Failed)
            {
                throw new WsyncException(ErrorIds.MonitorUnavailable, WsyncErrorCategory.ResourceUnavailable, definition.Name,
                    $"The monitor of '{definition.Name}' failed: {failureReason} Resume-WsyncWorkspace starts it again.");
            }

            running = ready.Task;
        }

        try
        {
            return await running.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new WsyncException(ErrorIds.MonitorUnavailable, WsyncErrorCategory.ResourceUnavailable, definition.Name,
                $"The monitor of '{definition.Name}' did not come up within {timeout.TotalSeconds:0} s; see its log in {logDirectory}.");
        }
    }

    /// <summary>Clears the crash count and wakes a Failed loop (Resume-WsyncWorkspace).</summary>
    public void ResetFailures()
    {
        lock (gate)
        {
            crashes.Reset();
            if (state == SupervisionState.Failed)
            {
                // Starting from now, so a caller that goes on to wait for the monitor (Resume) waits for
                // the new start instead of being refused by the Failed state the loop has not left yet.
                state = SupervisionState.Starting;
                failureReason = null;
            }

            resumed.TrySetResult();
        }
    }

    /// <summary>Keeps the newest status: reports and call results may arrive out of order.</summary>
    public void Observe(WorkspaceStatus? report) => reports.Observe(report);

    /// <summary>Tells the monitor to finish and exit, kills it past the grace period, and ends supervision.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (gate)
        {
            state = SupervisionState.Stopped;
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
    }

    private async Task SuperviseAsync()
    {
        var afterCrash = false;
        while (!stopping.IsCancellationRequested)
        {
            var started = DateTimeOffset.UtcNow;
            string outcome;
            try
            {
                outcome = await RunOnceAsync(afterCrash).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                outcome = exception.Message;
                log.Error(exception, "The monitor could not be run");
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var lastState = reports.Latest?.State;
            reports.Forget();
            processId = 0;
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            afterCrash = true;

            TimeSpan backoff;
            Task wake;
            lock (gate)
            {
                ready = NewReady();
                if (crashes.Spend())
                {
                    state = SupervisionState.Failed;
                    failureReason = $"the monitor stopped {crashes.Recent} times within {policy.CrashWindow.TotalMinutes:0.#} min; the last time: {outcome}.";
                    resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wake = resumed.Task;
                    backoff = TimeSpan.Zero;
                }
                else
                {
                    state = SupervisionState.Restarting;
                    backoff = policy.Restart.After(crashes.Recent);
                    wake = Task.CompletedTask;
                }
            }

            var next = backoff == TimeSpan.Zero && !wake.IsCompleted ? "left stopped: crash threshold reached" : $"restarting in {backoff.TotalMilliseconds:0} ms";
            log.Warning("The monitor stopped ({Outcome}) after {Uptime}; {Next}", outcome, DateTimeOffset.UtcNow - started, next);
            Publish(new SyncEvent { Time = DateTimeOffset.UtcNow, Kind = SyncEventKind.MonitorExited, Message = $"The monitor stopped ({outcome}); {next}." });
            if (Supervision is (SupervisionState.Failed, var reason))
            {
                Publish(new SyncEvent
                {
                    Time = DateTimeOffset.UtcNow,
                    Kind = SyncEventKind.WorkspaceStateChanged,
                    OldState = SyncStates.Of(lastState ?? WorkspaceState.Starting),
                    NewState = SyncState.Failed,
                    Message = reason,
                });
            }

            try
            {
                await wake.WaitAsync(stopping.Token).ConfigureAwait(false);
                await Task.Delay(backoff, stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            lock (gate)
            {
                state = SupervisionState.Starting;
                failureReason = null;
            }
        }

        lock (gate)
        {
            state = SupervisionState.Stopped;
            ready.TrySetException(new WsyncException(ErrorIds.MonitorUnavailable, WsyncErrorCategory.ResourceUnavailable,
                definition.Name, $"The monitor of '{definition.Name}' was stopped."));
        }
    }

    /// <summary>Runs one monitor process until it exits; returns how it ended.</summary>
    private async Task<string> RunOnceAsync(bool afterCrash)
    {
        using var process = StartProcess();
        processId = process.Id;
        records.Record(definition.Id, process.Id);
        log.Information("Started monitor {ProcessId}", process.Id);
        if (afterCrash)
        {
            Publish(new SyncEvent { Time = DateTimeOffset.UtcNow, Kind = SyncEventKind.MonitorRestarted, Message = $"Started monitor {process.Id} again." });
        }

        // Typed as JsonRpc: the build routes Attach to the generated proxy only for calls on JsonRpc itself.
        JsonRpc rpc = RpcChannel.Create(process.StandardInput.BaseStream, process.StandardOutput.BaseStream);
        RpcChannel.AddTarget<IMonitorHost>(rpc, reports);
        IMonitor monitor = rpc.Attach<IMonitorContract>();
        rpc.StartListening();
        var stopRequested = Task.Delay(Timeout.Infinite, stopping.Token);
        using var endHeartbeat = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        string? unresponsive = null;
        try
        {
            // Ready only once the monitor has the latest definition. One published after the last push
            // but before `ready` is set was not handed over by ReconfigureAsync (the monitor was not ready
            // yet), so push again until nothing changed in between.
            while (true)
            {
                var pushed = await PushConfigurationAsync(monitor, stopping.Token).ConfigureAwait(false);
                lock (gate)
                {
                    if (ReferenceEquals(pushed, definition))
                    {
                        state = SupervisionState.Running;
                        ready.TrySetResult(monitor);
                        break;
                    }
                }
            }

            var heartbeat = Heartbeat.RunAsync(monitor, policy, endHeartbeat.Token);
            if (await Task.WhenAny(process.WaitForExitAsync(CancellationToken.None), rpc.Completion, stopRequested, heartbeat).ConfigureAwait(false) == heartbeat
                && await heartbeat.ConfigureAwait(false) is { } silence)
            {
                // Stopped (SIGSTOP), wedged or spinning: it cannot be asked to leave, so it is killed (its
                // rsync and ssh children with its group, below) and handled like any crash.
                unresponsive = silence;
                log.Warning("Killing monitor {ProcessId}: {Reason}", process.Id, silence);
                process.Kill();
            }

            if (stopping.IsCancellationRequested && !process.HasExited)
            {
                // Let it finish the batch in flight and close its connections.
                await monitor.ShutdownAsync(CancellationToken.None).WaitAsync(StopGraces.Monitor).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (stopping.IsCancellationRequested)
        {
            log.Debug(exception, "The monitor did not acknowledge shutdown");
        }
        finally
        {
            await endHeartbeat.CancelAsync().ConfigureAwait(false);
            // End of input is the monitor's cue to exit; a monitor that ignores it is killed.
            rpc.Dispose();
            using var grace = new CancellationTokenSource(StopGraces.MonitorExit);
            try
            {
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                log.Warning("Killing monitor {ProcessId}", process.Id);
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            // What it started and did not end (it crashed, or was killed): an orphaned rsync would go on
            // writing to the remote beside the next monitor's, and an ssh master would stay logged in.
            // The group reaches them even once re-parented, which a walk of its process tree would not.
            ProcessTree.KillGroup(process.Id);

            records.Forget(definition.Id);
        }

        return unresponsive ?? process.ExitCode switch
        {
            0 => "exited",
            > 128 => $"killed by signal {process.ExitCode - 128}",
            var code => $"exit code {code}",
        };
    }

    /// <summary>
    /// Starts wsync-monitor for this workspace: its standard streams are the JSON-RPC channel, its stderr goes
    /// to the daemon's log, and the flock it holds for life is on the workspace's lock file.
    /// </summary>
    private Process StartProcess()
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            WorkspaceIdArgument, definition.Id.ToString(), "--lock-file", records.LockFile(definition.Id),
            "--workspace-name", definition.Name, "--log-directory", logDirectory,
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}");
        process.ErrorDataReceived += (_, line) =>
        {
            if (!string.IsNullOrEmpty(line.Data))
            {
                log.Warning("monitor stderr: {Line}", line.Data);
            }
        };
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Hands the monitor the latest definition; returns the one it has now.</summary>
    private async Task<WorkspaceDefinition> PushConfigurationAsync(IMonitor monitor, CancellationToken cancellationToken)
    {
        await configuring.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Push until the monitor has the latest: the definition may change while a push is in flight.
            WorkspaceDefinition? pushed = null;
            while (true)
            {
                WorkspaceDefinition current;
                lock (gate)
                {
                    current = definition;
                }

                if (ReferenceEquals(current, pushed))
                {
                    return current;
                }

                await RpcErrors.Call(monitor.ConfigureAsync(current, cancellationToken), "monitor").ConfigureAwait(false);
                pushed = current;
            }
        }
        finally
        {
            configuring.Release();
        }
    }

    /// <summary>Hands an event to the watchers, named after this workspace. Never waits (and never called under <see cref="gate"/>).</summary>
    private void Publish(SyncEvent syncEvent) => reports.Publish(syncEvent);

    private static TaskCompletionSource<IMonitor> NewReady() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
