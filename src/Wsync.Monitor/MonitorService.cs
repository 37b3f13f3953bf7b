using Serilog;
using Wsync.Monitor.Sync;
using Wsync.Monitor.Watching;
using Wsync.Transfer;

namespace Wsync.Monitor;

/// <summary>
/// One workspace's monitor: the watcher feeds every remote's pending set, each remote's loop sends on
/// its own, and the daemon hears the status (throttled) and the events (in order, as they happen).
/// Implements the daemon's view of the monitor.
/// </summary>
internal sealed class MonitorService : IMonitor, IWatchSink, IAsyncDisposable
{
    private readonly ILogger log;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Serialises configuration and shutdown (the lifecycle); never held while waiting on a remote.</summary>
    private readonly SemaphoreSlim lifecycle = new(1, 1);

    /// <summary>Guards <see cref="loops"/>, <see cref="initialGenerations"/>, <see cref="state"/>, <see cref="reason"/> and <see cref="warning"/>.</summary>
    private readonly Lock gate = new();

    /// <summary>Each remote's loop, by remote id; replaced (copy on write) so readers can enumerate without the lock.</summary>
    private Dictionary<Guid, RemoteLoop> loops = [];

    /// <summary>The generation of each remote's initial full reconcile.</summary>
    private readonly Dictionary<Guid, long> initialGenerations = [];

    /// <summary>Tells the daemon the status (throttled) and the events (in order).</summary>
    private readonly MonitorReporter reporter;

    /// <summary>Which remotes are sending: a remote arms its next rsync only once none is.</summary>
    private readonly SendActivity sendActivity = new();

    /// <summary>Connections a successful probe opened, until <see cref="CreateLoop"/> claims them.</summary>
    private readonly ProbedConnections probed = new();

    /// <summary>Looks for the root while the workspace is Waiting.</summary>
    private readonly RootCheck rootCheck = new();

    /// <summary>
    /// Set once the watcher reported a change since it started: the root was seen live, so its emptying is a
    /// halt. Until then an empty root with a non-empty remote is a disk not mounted yet: a wait.
    /// </summary>
    private volatile bool changedSinceStart;

    private WorkspaceDefinition? workspace;
    private TreeWatcher? watcher;
    private FilterFile? filter;
    private WorkspaceState state = WorkspaceState.Starting;
    private long sequence;
    private string? reason;

    /// <summary>What may soon stop the workspace from being watched (inotify nearly used up); null when nothing.</summary>
    private string? warning;

    public MonitorService(IMonitorHost host, ILogger log)
    {
        this.log = log;
        reporter = new MonitorReporter(host, Snapshot, () => (workspace?.Id ?? Guid.Empty, workspace?.Name), log);
    }

    /// <summary>Completes when the daemon asked the monitor to shut down and it finished.</summary>
    public Task Stopped => stopped.Task;

    public async Task ConfigureAsync(WorkspaceDefinition definition, CancellationToken cancellationToken)
    {
        await lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A remote attached to a running monitor was just chosen by the user: its first reconcile makes it an
            // exact mirror even of an empty root. Remotes present at the monitor's start get the safety stop.
            var attachedNow = workspace is not null;
            if (workspace is null)
            {
                Begin(definition);
            }

            workspace = definition;
            var current = loops;
            var next = new Dictionary<Guid, RemoteLoop>();
            foreach (var remote in definition.Remotes)
            {
                if (current.TryGetValue(remote.Id, out var existing))
                {
                    next.Add(remote.Id, existing);
                    continue;
                }

                var loop = CreateLoop(definition, remote);
                if (attachedNow)
                {
                    loop.AcknowledgeEmptyRoot();
                }

                next.Add(remote.Id, loop);
                lock (gate)
                {
                    initialGenerations[remote.Id] = loop.Start();
                }

                log.Information("Mirroring to {Remote} ({Destination})", remote.Name, remote.Destination);
            }

            lock (gate)
            {
                loops = next;
            }

            // A halt or failure stands until Resume, whatever the configuration says.
            SetState(definition.Suspended ? WorkspaceState.Suspended : WorkspaceState.Watching,
                definition.Suspended ? "Suspended by Suspend-WsyncWorkspace." : null,
                onlyFrom: current => current is WorkspaceState.Starting or WorkspaceState.Watching or WorkspaceState.Suspended);

            foreach (var loop in next.Values)
            {
                loop.SetSuspended(definition.Suspended);
            }

            foreach (var (id, gone) in current.Where(c => !next.ContainsKey(c.Key)))
            {
                log.Information("No longer mirroring to {Remote}", gone.Definition.Name);
                lock (gate)
                {
                    initialGenerations.Remove(id);
                }

                await gone.DisposeAsync().ConfigureAwait(false);
            }

            Changed();
        }
        finally
        {
            lifecycle.Release();
        }
    }

    public async Task<ProbeResult> ProbeAsync(RemoteDefinition remote, CancellationToken cancellationToken)
    {
        var destination = Destination.Parse(remote.Destination, remote.Port);
        if (destination.Kind == RemoteKind.Local)
        {
            return new ProbeResult();
        }

        var endpoint = new SshEndpoint(destination, remote with { SshOptions = remote.SshOptions ?? [] }, ControlPath(remote), log);
        var result = await Probe.CheckAsync(endpoint, destination, cancellationToken).ConfigureAwait(false);
        if (result.Failure is not null)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            return result;
        }

        await probed.KeepAsync(remote.Id, endpoint).ConfigureAwait(false);
        return result;
    }

    public async Task<WorkspaceStatus> SyncAsync(IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var current = loops.Values.ToList();
        var waits = current.Select(loop =>
        {
            var generation = loop.Pending.RequestFullReconcile();
            loop.Signal();
            return loop.WaitForAsync(generation, failFast: true, progress, cancellationToken);
        }).ToList();
        var results = await Task.WhenAll(waits).ConfigureAwait(false);
        var failed = current.Where((_, i) => !results[i]).Select(l => $"{l.Definition.Name}: {l.Status.LastError}").ToList();
        if (failed.Count > 0)
        {
            throw new WsyncException(ErrorIds.SyncFailed, WsyncErrorCategory.ConnectionError, workspace?.Name,
                $"The full sync failed for {string.Join("; ", failed)}. wsync keeps retrying; Get-WsyncRemote shows the state.");
        }

        return Snapshot();
    }

    public async Task<FlushResult> FlushAsync(int timeoutMilliseconds, CancellationToken cancellationToken)
    {
        // Every change made before this call is in the kernel's queue now; drain it into the pending sets.
        if (watcher is { } current)
        {
            await current.DrainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var targets = loops.Values.Select(loop => (Loop: loop, Wait: loop.WaitForAsync(loop.Pending.Generation, failFast: false, null, cancellationToken))).ToList();
        var all = Task.WhenAll(targets.Select(t => t.Wait));
        try
        {
            await (timeoutMilliseconds < 0 ? all : all.WaitAsync(TimeSpan.FromMilliseconds(timeoutMilliseconds), cancellationToken)).ConfigureAwait(false);
            return new FlushResult { Completed = true, Status = Snapshot() };
        }
        catch (TimeoutException)
        {
            return new FlushResult
            {
                Completed = false,
                Behind = [.. targets.Where(t => !t.Wait.IsCompletedSuccessfully).Select(t => t.Loop.Status)],
                Status = Snapshot(),
            };
        }
    }

    public async Task<RemoteStatus> WaitForInitialSyncAsync(Guid remoteId, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        RemoteLoop? loop;
        long generation;
        lock (gate)
        {
            if (!loops.TryGetValue(remoteId, out loop) || !initialGenerations.TryGetValue(remoteId, out generation))
            {
                throw new WsyncException(ErrorIds.RemoteNotFound, WsyncErrorCategory.ObjectNotFound, remoteId.ToString(),
                    "The monitor does not mirror to this remote.");
            }
        }

        await loop.WaitForAsync(generation, failFast: true, progress, cancellationToken).ConfigureAwait(false);
        return loop.Status;
    }

    public async Task ResumeAsync(CancellationToken cancellationToken)
    {
        await lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (workspace is not { } definition || state is not (WorkspaceState.Halted or WorkspaceState.Failed or WorkspaceState.Waiting))
            {
                return;
            }

            if (!Directory.Exists(definition.Path))
            {
                throw new WsyncException(ErrorIds.WorkspacePathNotFound, WsyncErrorCategory.ObjectNotFound, definition.Path,
                    $"The workspace root {definition.Path} is still missing; restore it, then Resume-WsyncWorkspace again.");
            }

            rootCheck.Stop();
            watcher?.Dispose();
            watcher = null;
            SetState(definition.Suspended ? WorkspaceState.Suspended : WorkspaceState.Watching, null);
            Begin(definition);
            foreach (var loop in loops.Values)
            {
                // "I fixed it, or I meant it": an empty root is mirrored this once.
                loop.Pending.RequestFullReconcile();
                loop.AcknowledgeEmptyRoot();
                loop.SetHalted(null);
            }

            log.Information("Resumed after a stop; reconciling every remote");
            Changed();
        }
        finally
        {
            lifecycle.Release();
        }
    }

    public Task<int> PingAsync(CancellationToken cancellationToken) => Task.FromResult(Environment.ProcessId);

    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        await StopAsync().ConfigureAwait(false);
        stopped.TrySetResult();
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public void OnChanges(IReadOnlyList<Change> changes)
    {
        changedSinceStart = true;
        foreach (var loop in loops.Values)
        {
            loop.Pending.Add(changes);
            loop.Signal();
        }

        Changed();
    }

    public void OnRescanNeeded(string why)
    {
        log.Warning("Reconciling every remote: {Reason}", why);
        RewriteFilter();
        foreach (var loop in loops.Values)
        {
            loop.Pending.RequestFullReconcile();
            loop.Signal();
        }
    }

    public void OnRootLost(string why) => Halt(WorkspaceState.Halted, why);

    public void OnWatchLimit(string message) => Halt(WorkspaceState.Failed, message);

    public void OnWatchLimitNear(string message)
    {
        lock (gate)
        {
            warning = message;
        }

        Changed();
    }

    private void Begin(WorkspaceDefinition definition)
    {
        var rules = PathFilter.For(definition.Path, definition.Exclude, definition.UseGitIgnore);
        filter = new FilterFile(definition.Id);
        watcher = new TreeWatcher(definition.Path, rules, this, log) { ExcludePatterns = definition.Exclude };
        filter.Write(rules);
        changedSinceStart = false;
        if (!Directory.Exists(definition.Path))
        {
            Wait(definition, untilEntries: false, StopReasons.WaitingForRoot(definition.Path));
            return;
        }

        watcher.Start();
    }

    /// <summary>
    /// The safety stop refused a batch. An empty root at the monitor's start, before any change was seen in it, is
    /// most likely a disk not mounted yet: wait for entries. Anything else halts until Resume-WsyncWorkspace.
    /// </summary>
    private void OnSafetyStop(SafetyStop.Refusal refusal, string why)
    {
        if (refusal == SafetyStop.Refusal.RootEmpty && !changedSinceStart && workspace is { } definition)
        {
            Wait(definition, untilEntries: true, StopReasons.WaitingForEntries(definition.Path));
            return;
        }

        Halt(WorkspaceState.Halted, why);
    }

    /// <summary>Waiting: nothing is sent, and the root is checked with backoff until it exists (and, if asked, has entries).</summary>
    private void Wait(WorkspaceDefinition definition, bool untilEntries, string why)
    {
        SetState(WorkspaceState.Waiting, why, onlyFrom: current => current is not (WorkspaceState.Halted or WorkspaceState.Failed or WorkspaceState.Stopped));
        log.Warning("{Reason}", why);
        foreach (var loop in loops.Values)
        {
            loop.SetHalted(why);
        }

        Changed();
        rootCheck.Start(definition.Path, untilEntries, RootThereAsync);
    }

    /// <summary>The root a Waiting workspace looked for is there: the watcher starts afresh and every remote reconciles.</summary>
    private async Task RootThereAsync(CancellationToken token)
    {
        await lifecycle.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (token.IsCancellationRequested || state != WorkspaceState.Waiting || workspace is not { } current)
            {
                return;
            }

            // The watcher starts afresh: one made on an empty mount point watches the directory under the mount.
            rootCheck.Stop();
            watcher?.Dispose();
            watcher = null;
            SetState(current.Suspended ? WorkspaceState.Suspended : WorkspaceState.Watching, null);
            Begin(current);
            if (state == WorkspaceState.Waiting)
            {
                return; // gone again
            }

            log.Information("The workspace root {Root} is there: reconciling every remote", current.Path);
            foreach (var loop in loops.Values)
            {
                loop.Pending.RequestFullReconcile(); // the safety stop still checks it: an empty root is never mirrored
                loop.SetHalted(null);
            }

            Changed();
        }
        finally
        {
            lifecycle.Release();
        }
    }

    private RemoteLoop CreateLoop(WorkspaceDefinition definition, RemoteDefinition remote)
    {
        var destination = Destination.Parse(remote.Destination, remote.Port);
        Endpoint endpoint = destination.Kind == RemoteKind.Local
            ? new LocalEndpoint(destination.Path)
            : probed.Claim(remote.Id) ?? new SshEndpoint(destination, remote, ControlPath(remote), log);
        var remoteLog = log.ForContext("Remote", remote.Name);
        var rsync = new RsyncTransport(remote, definition.Path, endpoint, () => filter?.Current, "Asked for with -Transport Rsync", remoteLog);
        Func<Action<DriftEntry>, CancellationToken, Task<AgentChannel>> startAgent = endpoint is SshEndpoint ssh
            ? new SshAgent(ssh, remoteLog).StartAsync
            : (drifted, token) => LocalAgent.StartAsync(destination.Path, drifted, token);
        var agent = remote.Transport == RemoteTransport.Agent
            ? new AgentTransport(remote, definition.Path, rsync, startAgent, () => filter?.Current is not null, remoteLog)
            : null;
        var bulk = new RsyncTransport(remote, definition.Path, endpoint, () => filter?.Current, "", remoteLog, background: true);
        var loop = new RemoteLoop(remote, definition.Path, (ITransport?)agent ?? rsync, Changed, reporter.Report, sendActivity, log, bulk: bulk)
        {
            Drift = new DriftCheck(() => watcher?.Filter ?? PathFilter.None),
        };
        if (agent is not null)
        {
            agent.Drifted = loop.OnDrift;
        }

        loop.HaltWorkspace = OnSafetyStop;
        if (state is WorkspaceState.Halted or WorkspaceState.Failed or WorkspaceState.Waiting)
        {
            loop.SetHalted(reason);
        }

        return loop;
    }

    private static string ControlPath(RemoteDefinition remote) => Path.Combine(WsyncConfig.PrivateRuntimeDirectory(), $"cm-{remote.Id:n}"[..15]);

    private void Halt(WorkspaceState next, string why)
    {
        SetState(next, why);
        log.Error("{State}: {Reason}", next, why);
        foreach (var loop in loops.Values)
        {
            loop.SetHalted(why);
        }

        Changed();
    }

    private void RewriteFilter()
    {
        if (workspace is { UseGitIgnore: true } definition)
        {
            var rules = PathFilter.For(definition.Path, definition.Exclude, true);
            watcher?.UpdateFilter(rules);
            filter?.Write(rules);
        }
    }

    private async Task StopAsync()
    {
        await lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            rootCheck.Stop();
            watcher?.Dispose();
            watcher = null;
            var current = loops;
            var unclaimed = probed.ClaimAll();
            lock (gate)
            {
                loops = [];
                state = WorkspaceState.Stopped;
            }

            await Task.WhenAll(current.Values.Select(l => l.DisposeAsync().AsTask()).Concat(unclaimed.Select(e => e.DisposeAsync().AsTask())))
                .WaitAsync(StopGraces.RemoteLoops).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            log.Warning("Remotes did not stop within {Grace}", StopGraces.RemoteLoops);
        }
        finally
        {
            lifecycle.Release();
        }
    }

    private void Changed() => reporter.Changed();

    /// <summary>
    /// Moves the workspace to <paramref name="next"/> (when it is in a state <paramref name="onlyFrom"/>
    /// accepts, checked under the lock) and reports the change, if it is one.
    /// </summary>
    private void SetState(WorkspaceState next, string? why, Func<WorkspaceState, bool>? onlyFrom = null)
    {
        WorkspaceState previous;
        lock (gate)
        {
            previous = state;
            if (onlyFrom is not null && !onlyFrom(previous))
            {
                return;
            }

            state = next;
            reason = why;
        }

        if (previous != next)
        {
            reporter.Report(new SyncEvent
            {
                Time = DateTimeOffset.UtcNow,
                Kind = SyncEventKind.WorkspaceStateChanged,
                OldState = SyncStates.Of(previous),
                NewState = SyncStates.Of(next),
                Message = why,
            });
        }
    }

    private WorkspaceStatus Snapshot()
    {
        lock (gate)
        {
            return new WorkspaceStatus
            {
                WorkspaceId = workspace?.Id ?? Guid.Empty,
                State = state,
                Reason = reason,
                Warning = warning,
                Sequence = Interlocked.Increment(ref sequence),
                WatchedDirectories = watcher?.WatchCount ?? 0,
                Remotes = [.. loops.Values.Select(l => l.Status)],
            };
        }
    }
}
