using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Serilog;
using Wsync.Platform;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>
/// Mirrors one workspace to one remote. The loop waits for pending changes, takes them all as one batch,
/// checks the safety stop, hands the batch to its <see cref="ITransport"/>, and moves between the
/// <see cref="RemoteState"/>s as <see cref="RemotePolicy"/> says; it never waits on another remote. A batch
/// that was not sent goes back into the pending set and is retried.
/// </summary>
internal sealed class RemoteLoop : IAsyncDisposable
{
    private readonly ITransport transport;
    private readonly Action changed;

    /// <summary>Hands an event (batch sent, state changed, error) to the monitor, which sends it to the daemon. Never waits.</summary>
    private readonly Action<SyncEvent> report;

    /// <summary>Which remotes of the workspace are sending: this one prepares only once none is.</summary>
    private readonly SendActivity activity;

    private readonly TimeProvider time;
    private readonly ILogger log;

    /// <summary>Checked before every batch: a vanished or emptied root halts instead of deleting remotely.</summary>
    private readonly SafetyStop safety;

    /// <summary>Who waits for which generation; completed by the loop's task.</summary>
    private readonly Generations generations = new();

    /// <summary>Wakes the loop: new changes, resume, stop. Capacity one: many wakes while busy make one.</summary>
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly CancellationTokenSource stopping = new();

    /// <summary>The agent's drift reports, queued by its channel's task and judged by the loop's, between batches.</summary>
    private readonly ConcurrentQueue<DriftEntry> drifts = new();

    private readonly string root;

    /// <summary>
    /// Paths reported as drift and left as they are (<see cref="DriftAction.Report"/>), until a batch sends them
    /// again: a write the agent saw in two steps counts once. Loop's task only.
    /// </summary>
    private readonly HashSet<string> standingDrift = new(StringComparer.Ordinal);

    /// <summary>Guards the status fields below.</summary>
    private readonly Lock gate = new();

    private RemoteState state = RemoteState.Connecting;
    private string? lastError;
    private DateTimeOffset? lastSyncTime;
    private long bytesSent;
    private long filesSent;
    private long driftCount;
    private string? lastDrift;

    /// <summary>The running full reconcile's progress; null when none runs.</summary>
    private SyncProgress? progress;

    /// <summary>Set once a full reconcile reached the remote: after it, sending is Syncing, not InitialSync. Loop's task only.</summary>
    private bool initialSyncDone;

    private volatile bool suspended;

    /// <summary>Why nothing is sent (the safety stop, a workspace waiting for its root); null when sending.</summary>
    private volatile string? haltReason;

    private Task? loop;

    /// <summary>Trees and large files, sent beside the loop (see <see cref="BulkLane"/>); null for a loop without one.</summary>
    private readonly BulkLane? lane;

    /// <summary>
    /// While the lane carries (or has made wait) part of what came after it, generations complete no further than
    /// this: what a waiter waits for is on the remote only once the lane's part is too. Null when nothing is held.
    /// Loop's task only, as are the two below.
    /// </summary>
    private long? heldAt;

    /// <summary>The highest generation a batch sent while completions were held.</summary>
    private long sentWhileHeld;

    /// <summary>Set when a batch's paths were made to wait for the lane while completions were held.</summary>
    private bool deferredWhileHeld;

    /// <param name="bulk">The rsync a <see cref="BulkLane"/> sends trees and large files with; null for no lane.</param>
    public RemoteLoop(RemoteDefinition definition, string root, ITransport transport, Action changed, Action<SyncEvent> report, SendActivity activity, ILogger log,
        TimeProvider? time = null, RsyncTransport? bulk = null)
    {
        Definition = definition;
        this.root = root;
        this.transport = transport;
        this.changed = changed;
        this.report = report;
        this.activity = activity;
        this.time = time ?? TimeProvider.System;
        this.log = log.ForContext("Remote", definition.Name);
        lane = bulk is null ? null : new BulkLane(bulk, root, Signal, this.log);
        safety = new SafetyStop(root, transport.HasEntriesAsync, definition.Destination, (refusal, reason) =>
        {
            if (HaltWorkspace is { } halt)
            {
                halt(refusal, reason);
            }
            else
            {
                SetHalted(reason);
            }
        });
    }

    /// <summary>Halts the whole workspace (the safety stop); set by the monitor. Unset, only this remote stops.</summary>
    public Action<SafetyStop.Refusal, string>? HaltWorkspace { get; set; }

    public RemoteDefinition Definition { get; }

    public PendingChanges Pending { get; } = new();

    /// <summary>Judges drift reports; set by the monitor before <see cref="Start"/> (without it, reports are ignored).</summary>
    public DriftCheck? Drift { get; set; }

    public RemoteStatus Status
    {
        get
        {
            lock (gate)
            {
                return new RemoteStatus
                {
                    RemoteId = Definition.Id,
                    State = suspended ? RemoteState.Suspended : state,
                    LastSyncTime = lastSyncTime,
                    PendingChanges = Pending.Count,
                    BytesSent = bytesSent,
                    FilesSent = filesSent,
                    LastError = haltReason ?? lastError,
                    Progress = progress,
                    Transport = transport.Current.Kind,
                    TransportReason = transport.Current.Reason,
                    DriftCount = driftCount,
                    LastDrift = lastDrift,
                };
            }
        }
    }

    /// <summary>Starts the loop with a full reconcile: the remote becomes an exact mirror first.</summary>
    public long Start()
    {
        var generation = Pending.RequestFullReconcile();
        activity.Subscribe(Signal);
        loop = Task.Run(RunAsync);
        return generation;
    }

    public void Signal() => wake.Writer.TryWrite(true);

    /// <summary>The agent saw <paramref name="entry"/> change on the remote by another hand (called on its channel's task).</summary>
    public void OnDrift(DriftEntry entry)
    {
        drifts.Enqueue(entry);
        Signal();
    }

    public void SetSuspended(bool value)
    {
        suspended = value;
        changed();
        Signal();
    }

    /// <summary>Stops sending (safety stop) with a reason, or lifts the stop with null.</summary>
    public void SetHalted(string? reason)
    {
        haltReason = reason;
        if (reason is not null)
        {
            generations.Fail(null); // whoever waits to fail fast (Connect-WsyncRemote's initial sync) hears it now
        }

        changed();
        Signal();
    }

    /// <summary>Resume-WsyncWorkspace: the next batch may mirror an empty workspace root (see <see cref="SafetyStop"/>).</summary>
    public void AcknowledgeEmptyRoot() => safety.Acknowledge();

    /// <summary>
    /// Completes with true once every change up to <paramref name="generation"/> is on the remote; with
    /// false if <paramref name="failFast"/> and an attempt covering it failed.
    /// </summary>
    public Task<bool> WaitForAsync(long generation, bool failFast, IProgress<SyncProgress>? listener, CancellationToken cancellationToken) =>
        generations.WaitForAsync(generation, failFast, haltReason is not null, listener, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        activity.Unsubscribe(Signal);
        await stopping.CancelAsync().ConfigureAwait(false);
        Signal();
        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (lane is not null)
        {
            await lane.Idle.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await transport.DisposeAsync().ConfigureAwait(false);
        generations.CancelAll();
    }

    private async Task RunAsync()
    {
        var token = stopping.Token;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            Reaction reaction;
            string error;
            try
            {
                // The lane first: the drift reports it held come with its end, and are judged while what waited for it still waits.
                if (lane?.TakeFinished() is { } finished)
                {
                    await LaneFinishedAsync(finished.Carried, finished.Result, token).ConfigureAwait(false);
                }

                if (!drifts.IsEmpty)
                {
                    JudgeDrift();
                }

                if (suspended || haltReason is not null || Pending.IsEmpty)
                {
                    await IdleAsync(token).ConfigureAwait(false);
                    continue;
                }

                if (!transport.IsConnected)
                {
                    SetState(RemoteState.Connecting, lastError);
                    await transport.ConnectAsync(token).ConfigureAwait(false);
                }

                Batch batch;
                LaneSplit? split = null;
                var settling = Pending.SettleDelay() is var settle && settle > TimeSpan.Zero;
                if (settling)
                {
                    // A new tree waits for quiet (tar is still filling it); an edit elsewhere need not wait with
                    // it. Completions hold, as for the lane, until a batch takes all that is pending: the tree came first.
                    batch = Pending.TakeOutsideTrees();
                    if (batch.IsEmpty)
                    {
                        await Task.Delay(settle, time, token).ConfigureAwait(false);
                        continue;
                    }

                    heldAt ??= generations.Completed;
                }
                else
                {
                    batch = Pending.Take();
                    split = await SplitAsync(batch, token).ConfigureAwait(false);
                    if (split is { Now.IsEmpty: true })
                    {
                        await StartLaneOrWaitAsync(split, token).ConfigureAwait(false);
                        continue;
                    }
                }

                var whole = !settling && (split is null || (split.ForLane.Count == 0 && split.Waiting is null));
                var result = await SendAsync(split?.Now ?? batch, whole, token).ConfigureAwait(false);
                if (split is { ForLane.Count: > 0 })
                {
                    if (result?.Outcome == SendOutcome.Success)
                    {
                        await StartLaneOrWaitAsync(split, token).ConfigureAwait(false);
                    }
                    else
                    {
                        Pending.Requeue(split.Now with { Entries = split.ForLane, Moves = [] });
                    }
                }

                if (result is null)
                {
                    continue; // not sent: the safety stop halted, or the remote could not be listed (already retried)
                }

                if (result.Outcome == SendOutcome.Success)
                {
                    failures = 0;
                    continue;
                }

                reaction = RemotePolicy.AfterSend[(result.Outcome, batch.FullReconcile)];
                error = result.Description;
                if (reaction.Retry == Retry.FullReconcileNow)
                {
                    log.Warning("An incremental batch to {Destination} failed ({Error}); reconciling fully instead", Definition.Destination, error);
                    Pending.RequestFullReconcile();
                    continue;
                }
            }
            catch (EndpointException exception)
            {
                reaction = RemotePolicy.AfterConnectionFailure[exception.Permanent];
                error = exception.Message;
                generations.Fail(Pending.Generation); // nothing waiting got through
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                log.Error(exception, "The loop of {Destination} failed; retrying", Definition.Destination);
                reaction = RemotePolicy.AfterFault;
                error = exception.Message;
            }

            log.Warning("Sending to {Destination} failed: {Error}", Definition.Destination, error);
            SetState(reaction.State ?? state, error);
            if (reaction.Reconnect)
            {
                await transport.InvalidateAsync().ConfigureAwait(false);
            }

            try
            {
                await Task.Delay(RemotePolicy.Delay(reaction.Retry, ++failures), time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One batch: the safety stop, then the transport. A batch that is not sent, whatever the reason (refused,
    /// failed, thrown), waits again in the pending set, so no later batch's success can cover it. Null when the
    /// safety stop kept it back.
    /// </summary>
    /// <param name="whole">Whether the batch is all that was pending (nothing of it went to the lane or waits for it).</param>
    private async Task<SendResult?> SendAsync(Batch batch, bool whole, CancellationToken token)
    {
        SetState(initialSyncDone ? RemoteState.Syncing : RemoteState.InitialSync, lastError);
        var clock = Stopwatch.StartNew();
        SendResult? result = null;
        try
        {
            if (!await safety.AllowsAsync(token).ConfigureAwait(false))
            {
                return null; // a vanished or emptied workspace never turns into a mass deletion remotely
            }

            if (batch.FullReconcile && lane is { Busy: true })
            {
                await lane.Idle.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // two writers would race; the reconcile covers what it carried
            }

            using (batch.FullReconcile ? default(SendActivity.Scope?) : activity.Begin())
            {
                result = batch.FullReconcile
                    ? await transport.ReconcileAsync(OnProgress, token).ConfigureAwait(false)
                    : await transport.SendAsync(batch, token).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            if (batch.FullReconcile)
            {
                lock (gate)
                {
                    progress = null;
                }
            }

            if (result?.Outcome == SendOutcome.Success)
            {
                Completed(batch, result, clock.Elapsed, whole);
            }
            else
            {
                Pending.Requeue(batch);
                generations.Fail(batch.Generation);
            }
        }
    }

    /// <summary>
    /// Nothing to send: reports InSync when it is, lets the transport prepare for the next batch once no other
    /// remote is sending (or after <see cref="RemotePolicy.PreparationDeferralCap"/>), then sleeps until woken.
    /// </summary>
    private async Task IdleAsync(CancellationToken token)
    {
        if (!suspended && haltReason is null && transport.IsConnected)
        {
            SetState(lane is { Busy: true } ? RemoteState.Syncing : RemoteState.InSync, error: null);
            if (transport.WantsPreparation && !activity.Quiet)
            {
                using var deferral = CancellationTokenSource.CreateLinkedTokenSource(token);
                deferral.CancelAfter(RemotePolicy.PreparationDeferralCap);
                try
                {
                    // Woken by a change, a stop, or the others' quiet: the loop looks again.
                    await wake.Reader.WaitToReadAsync(deferral.Token).ConfigureAwait(false);
                    wake.Reader.TryRead(out _);
                    return;
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                }
            }

            var carrier = transport.Current;
            await transport.PrepareAsync(token).ConfigureAwait(false);
            if (transport.Current != carrier)
            {
                changed(); // the agent started (or could not): the remote object says so
            }
        }

        await wake.Reader.ReadAsync(token).ConfigureAwait(false);
    }

    /// <summary>
    /// Judges every queued drift report against the workspace: what drifted is counted, logged and reported,
    /// and with <see cref="DriftAction.Undo"/> queued to be sent again as the workspace has it — through the
    /// same batches, and so the same safety stop, as any change.
    /// </summary>
    private void JudgeDrift()
    {
        ConfinedRoot? workspace = null;
        try
        {
            while (drifts.TryDequeue(out var entry))
            {
                if (Drift is null)
                {
                    continue;
                }

                if (entry.EventsLost)
                {
                    log.Warning("The agent on {Destination} lost track of changes there (its watch overflowed); reconciling fully", Definition.Destination);
                    Pending.RequestFullReconcile();
                    continue;
                }

                if (lane?.Covers(entry.Path) == true)
                {
                    continue; // the lane's rsync is writing there: it leaves what the workspace has
                }

                workspace ??= ConfinedRoot.Open(root);
                var (verdict, undo) = Drift.Judge(entry, Pending, workspace);
                if (verdict == DriftVerdict.Invalid)
                {
                    log.Warning("The agent on {Destination} reported a path that is not under its root ({Path}); ignored", Definition.Destination, LinuxPath.Display(entry.Path));
                }
                else if (verdict == DriftVerdict.Drifted)
                {
                    Drifted(entry.Path, undo);
                }
            }
        }
        catch (IOException exception)
        {
            log.Debug("Drift not judged, the workspace cannot be read: {Error}", exception.Message); // the root is gone: the safety stop speaks
            drifts.Clear();
        }
        finally
        {
            workspace?.Dispose();
        }
    }

    private void Drifted(string path, Watching.Change undo)
    {
        var shown = path.Length == 0 ? "/" : LinuxPath.Display(path);
        var undoing = Definition.DriftAction == DriftAction.Undo;
        if (!undoing && !standingDrift.Add(path))
        {
            return;
        }

        lock (gate)
        {
            driftCount++;
            lastDrift = shown;
        }

        log.Warning("{Path} was changed on {Destination} by something other than wsync; {Action}", shown, Definition.Destination,
            undoing ? "putting it back as the workspace has it" : "left as it is (-DriftAction Report)");
        report(NewEvent(SyncEventKind.Drift) with { Paths = 1, Message = $"'{shown}' was changed on the remote by something other than wsync; {(undoing ? "put back" : "reported only")}." });
        if (undoing)
        {
            if (path.Length == 0)
            {
                Pending.RequestFullReconcile(); // the root's own mode: rsync sets it
            }
            else
            {
                Pending.Add([undo]);
            }
        }

        changed();
    }

    /// <summary>Divides a batch between the transport and the lane (see <see cref="BulkLane.Split"/>); null when the lane has no part in it.</summary>
    private async Task<LaneSplit?> SplitAsync(Batch batch, CancellationToken token)
    {
        if (lane is null || batch.FullReconcile || (!lane.Busy && !lane.Wants(batch)))
        {
            return null;
        }

        var split = lane.Split(batch, await lane.ReadyAsync(token).ConfigureAwait(false));
        if (split.ForLane.Count == 0 && split.Waiting is null)
        {
            return null;
        }

        heldAt ??= generations.Completed;
        if (split.Waiting is { } waiting)
        {
            deferredWhileHeld = true;
            Pending.Requeue(waiting);
        }

        return split;
    }

    /// <summary>Starts the lane on its part of a split batch; when there is none (all of it waits), sleeps until the lane ends or a change comes.</summary>
    private async Task StartLaneOrWaitAsync(LaneSplit split, CancellationToken token)
    {
        if (split.ForLane.Count > 0)
        {
            if (!await safety.AllowsAsync(token).ConfigureAwait(false))
            {
                Pending.Requeue(split.Now with { Entries = split.ForLane, Moves = [] }); // a vanished workspace never deletes trees remotely
                return;
            }

            await transport.HoldDriftAsync(true, token).ConfigureAwait(false);
            lane!.Start(split.ForLane, split.Now.Generation, token);
            SetState(RemoteState.Syncing, lastError);
            return;
        }

        await Task.WhenAny(lane!.Idle, wake.Reader.WaitToReadAsync(token).AsTask()).ConfigureAwait(false);
        wake.Reader.TryRead(out _);
        token.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// The lane's transfer ended. Done: the directories above what it carried go again (their times), and it is
    /// reported like a batch. Failed: its paths wait again, for the next batch. Either way, completions held for it
    /// are released once nothing of what came while it ran is left.
    /// </summary>
    private async Task LaneFinishedAsync(Batch carried, SendResult result, CancellationToken token)
    {
        await transport.HoldDriftAsync(false, token).ConfigureAwait(false);
        if (result.Outcome == SendOutcome.Success)
        {
            Pending.Add([.. BulkLane.DirectoriesAbove(carried).Select(Watching.Change.OfPath)]);
            lock (gate)
            {
                bytesSent += result.BytesSent;
                filesSent += result.FilesTransferred;
            }

            report(NewEvent(SyncEventKind.BatchSent) with
            {
                Files = result.FilesTransferred,
                Bytes = result.BytesSent,
                Paths = carried.Entries.Count,
                Message = "Trees and large files, beside smaller changes.",
            });
        }
        else
        {
            Pending.Requeue(carried);
            generations.Fail(carried.Generation);
        }

        if (Pending.IsEmpty && !deferredWhileHeld)
        {
            Release(Math.Max(sentWhileHeld, carried.Generation));
        }

        changed();
    }

    /// <summary>A batch was sent: its generation completes, unless the lane holds completions (see <see cref="heldAt"/>).</summary>
    private void CompleteGeneration(long generation, bool whole)
    {
        if (heldAt is null)
        {
            generations.Complete(generation);
            return;
        }

        sentWhileHeld = Math.Max(sentWhileHeld, generation);

        // A batch that took all that was pending, with the lane idle, carried everything up to its generation.
        if (whole && lane is not { Busy: true })
        {
            Release(sentWhileHeld);
        }
    }

    private void Release(long generation)
    {
        heldAt = null;
        sentWhileHeld = 0;
        deferredWhileHeld = false;
        generations.Complete(generation);
    }

    private void OnProgress(SyncProgress parsed)
    {
        SyncProgress current;
        lock (gate)
        {
            progress = current = Rsync.Continue(progress, parsed);
        }

        generations.Progress(current);
        changed();
    }

    private void Completed(Batch batch, SendResult result, TimeSpan duration, bool whole)
    {
        RemoteState previous, next;
        string? previousError;
        lock (gate)
        {
            previous = state;
            previousError = lastError;
            lastSyncTime = DateTimeOffset.UtcNow;
            bytesSent += result.BytesSent;
            filesSent += result.FilesTransferred;
            initialSyncDone = initialSyncDone || batch.FullReconcile;
            state = next = Pending.IsEmpty && lane is not { Busy: true } ? RemoteState.InSync : RemoteState.Syncing;
            lastError = null;
        }

        ForgetStandingDrift(batch);
        CompleteGeneration(batch.Generation, whole);
        report(NewEvent(SyncEventKind.BatchSent) with
        {
            Files = result.FilesTransferred,
            Bytes = result.BytesSent,
            Paths = batch.FullReconcile ? 0 : batch.Entries.Count,
            Duration = duration,
            Message = batch.FullReconcile ? "Full reconcile." : null,
        });
        Announce(previous, next, previousError, null);
        changed();
    }

    /// <summary>A batch put these paths back as the workspace has them: a later change there is drift again.</summary>
    private void ForgetStandingDrift(Batch batch)
    {
        if (batch.FullReconcile)
        {
            standingDrift.Clear();
            return;
        }

        foreach (var (path, _) in batch.Entries)
        {
            standingDrift.Remove(path);
        }
    }

    private void SetState(RemoteState next, string? error)
    {
        RemoteState previous;
        string? previousError;
        lock (gate)
        {
            previous = state;
            previousError = lastError;
            state = next;
            lastError = error;
        }

        if (previous != next || previousError != error)
        {
            log.Debug("{Remote} is {State}", Definition.Name, next);
            Announce(previous, next, previousError, error);
            changed();
        }
    }

    /// <summary>
    /// Reports a state change (unless routine) and a new error: an error repeated by every retry is
    /// reported once, and again only after it changed or the remote recovered.
    /// </summary>
    private void Announce(RemoteState previous, RemoteState next, string? previousError, string? error)
    {
        if (error is not null && error != previousError)
        {
            report(NewEvent(SyncEventKind.Error) with { NewState = SyncStates.Of(next), Message = error });
        }

        if (previous != next && !RemotePolicy.RoutineTransitions.Contains((previous, next)))
        {
            report(NewEvent(SyncEventKind.RemoteStateChanged) with { OldState = SyncStates.Of(previous), NewState = SyncStates.Of(next), Message = error });
        }
    }

    /// <summary>An event about this remote; the monitor adds the workspace.</summary>
    private SyncEvent NewEvent(SyncEventKind kind) => new()
    {
        Time = DateTimeOffset.UtcNow,
        Kind = kind,
        Remote = Definition.Name,
        RemoteId = Definition.Id,
    };
}
