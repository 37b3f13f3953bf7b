using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Serilog;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>
/// Mirrors one workspace to one remote. The loop waits for pending changes, takes them all as one
/// batch, replays renames, sends the batch with one rsync call, and moves between the
/// <see cref="RemoteState"/>s; it never waits on another remote. A failed batch goes back into the
/// pending set and is retried with capped exponential backoff.
/// </summary>
internal sealed class RemoteLoop : IAsyncDisposable
{
    /// <summary>Delay between retries of a failure that will not pass by itself (a refused key): slow, but it recovers once fixed.</summary>
    private static readonly TimeSpan PermanentRetry = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest wait for the other remotes' sends to finish before arming anyway: a remote whose send hangs
    /// (a cut connection, until rsync's timeout) must not keep the others from arming.
    /// </summary>
    private static readonly TimeSpan ArmDeferralCap = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The most a batch's paths may take as rsync operands; longer batches go in a --files-from list. Well
    /// under Linux's limit on a command line (ARG_MAX, a quarter of the stack: 2 MiB) and on one argument (128 KiB).
    /// </summary>
    private const long MaxOperandBytes = 64 * 1024;

    /// <summary>
    /// State changes not reported as <see cref="SyncEventKind.RemoteStateChanged"/>: every batch goes
    /// InSync → Syncing → InSync, and its <see cref="SyncEventKind.BatchSent"/> says so once, with numbers.
    /// </summary>
    private static readonly HashSet<(RemoteState From, RemoteState To)> RoutineTransitions =
    [
        (RemoteState.InSync, RemoteState.Syncing),
        (RemoteState.Syncing, RemoteState.InSync),
    ];

    private readonly string root;
    private readonly Destination destination;
    private readonly Endpoint endpoint;
    private readonly Func<string?> filterFile;
    private readonly Action changed;

    /// <summary>Hands an event (batch sent, state changed, error) to the monitor, which sends it to the daemon. Never waits.</summary>
    private readonly Action<SyncEvent> report;

    private readonly SendActivity activity;
    private readonly ILogger log;

    /// <summary>Checked before every batch: a vanished or emptied root halts instead of deleting remotely.</summary>
    private readonly SafetyStop safety;

    /// <summary>Wakes the loop: new changes, resume, stop. Capacity one: many wakes while busy make one.</summary>
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly CancellationTokenSource stopping = new();

    /// <summary>Guards the status fields below, <see cref="waiters"/> and <see cref="progressListeners"/>.</summary>
    private readonly Lock gate = new();

    private RemoteState state = RemoteState.Connecting;
    private string? lastError;
    private DateTimeOffset? lastSyncTime;
    private long bytesSent;
    private long filesSent;
    private SyncProgress? progress;

    /// <summary>The highest generation whose changes are all on the remote.</summary>
    private long completedGeneration;

    /// <summary>Callers waiting for a generation to complete; failFast ones also end on a failed attempt.</summary>
    private readonly List<(long Generation, bool FailFast, TaskCompletionSource<bool> Done)> waiters = [];

    private readonly List<IProgress<SyncProgress>> progressListeners = [];

    /// <summary>Null until the self-test ran: whether --files-from with --delete-missing-args works against this remote.</summary>
    private bool? incrementalWorks;

    /// <summary>
    /// An rsync started ahead of the next batch, connected and waiting for its list (see <see cref="RsyncProcess"/>);
    /// null when none is armed. Touched only by the loop's task (and DisposeAsync after the loop ended).
    /// Always the --ignore-times variant: it serves batches of files only.
    /// </summary>
    private RsyncProcess? armed;

    private bool initialSyncDone;
    private volatile bool suspended;
    private volatile string? haltReason;
    private Task? loop;

    public RemoteLoop(RemoteDefinition definition, string root, Endpoint endpoint, Func<string?> filterFile, Action changed, Action<SyncEvent> report, SendActivity activity, ILogger log)
    {
        this.report = report;
        this.activity = activity;
        Definition = definition;
        this.root = root;
        this.endpoint = endpoint;
        this.filterFile = filterFile;
        this.changed = changed;
        this.log = log.ForContext("Remote", definition.Name);
        destination = Destination.Parse(definition.Destination, definition.Port);
        safety = new SafetyStop(root, endpoint, definition.Destination, (refusal, reason) =>
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
            FailedAttempt(null); // whoever waits to fail fast (Connect-WsyncRemote's initial sync) hears it now
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
    public Task<bool> WaitForAsync(long generation, bool failFast, IProgress<SyncProgress>? listener, CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool> done;
        lock (gate)
        {
            if (completedGeneration >= generation)
            {
                return Task.FromResult(true);
            }

            if (failFast && haltReason is not null)
            {
                return Task.FromResult(false); // halted: nothing is sent until Resume
            }

            done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((generation, failFast, done));
            if (listener is not null)
            {
                progressListeners.Add(listener);
            }
        }

        return listener is null
            ? done.Task.WaitAsync(cancellationToken)
            : Unlisten(done.Task.WaitAsync(cancellationToken), listener);
    }

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

        Disarm();
        await endpoint.DisposeAsync().ConfigureAwait(false);
        lock (gate)
        {
            foreach (var (_, _, done) in waiters)
            {
                done.TrySetCanceled();
            }

            waiters.Clear();
        }
    }

    private async Task<bool> Unlisten(Task<bool> waiting, IProgress<SyncProgress> listener)
    {
        try
        {
            return await waiting.ConfigureAwait(false);
        }
        finally
        {
            lock (gate)
            {
                progressListeners.Remove(listener);
            }
        }
    }

    private async Task RunAsync()
    {
        var token = stopping.Token;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (suspended || haltReason is not null || Pending.IsEmpty)
                {
                    if (!suspended && haltReason is null && endpoint.IsConnected)
                    {
                        SetState(RemoteState.InSync, error: null);
                        if (!await ArmWhenQuietAsync(token).ConfigureAwait(false))
                        {
                            continue;
                        }
                    }

                    await wake.Reader.ReadAsync(token).ConfigureAwait(false);
                    continue;
                }

                if (!endpoint.IsConnected)
                {
                    SetState(RemoteState.Connecting, lastError);
                    await endpoint.ConnectAsync(token).ConfigureAwait(false);
                }

                if (Pending.SettleDelay() is var settle && settle > TimeSpan.Zero)
                {
                    await Task.Delay(settle, token).ConfigureAwait(false);
                    continue;
                }

                var batch = Pending.Take();
                SetState(initialSyncDone ? RemoteState.Syncing : RemoteState.InitialSync, lastError);
                RsyncResult result;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    using (batch.FullReconcile ? default(SendActivity.Scope?) : activity.Begin())
                    {
                        result = await SendAsync(batch, token).ConfigureAwait(false);
                    }
                }
                catch
                {
                    // Taken but not sent: it waits again, so no later batch's success can cover it.
                    Pending.Requeue(batch);
                    FailedAttempt(batch);
                    throw;
                }

                if (result.Outcome == RsyncOutcome.Success)
                {
                    failures = 0;
                    Completed(batch, result, clock.Elapsed);
                    continue;
                }

                Pending.Requeue(batch);
                FailedAttempt(batch);
                if (haltReason is not null)
                {
                    continue; // not sent because the workspace halted (the safety stop): nothing to retry until Resume
                }

                if (!batch.FullReconcile && result.Outcome == RsyncOutcome.Permanent)
                {
                    // rsync refused the list itself: a path changed type between the check and rsync reading it
                    // ("invalid path from sender", exit 2). A full reconcile lists nothing and walks the tree as it is.
                    log.Warning("An incremental batch to {Destination} failed ({Error}); reconciling fully instead", Definition.Destination, result.Describe());
                    Pending.RequestFullReconcile();
                    Disarm();
                    continue;
                }

                // Some files failed (rsync 23: a full disk, a permission denied on the remote): the cause is
                // outside wsync and passes once someone fixes it, so keep retrying, backing off to 30 s.
                var permanent = result.Outcome is RsyncOutcome.Permanent;
                SetState(permanent ? RemoteState.Failed : RemoteState.Retrying, result.Describe());
                log.Warning("Sending to {Destination} failed: {Error}", Definition.Destination, result.Describe());
                if (result.Outcome == RsyncOutcome.Transient)
                {
                    Disarm();
                    await endpoint.InvalidateAsync().ConfigureAwait(false);
                }

                await Task.Delay(permanent ? PermanentRetry : Backoff.RemoteRetry.After(++failures), token).ConfigureAwait(false);
            }
            catch (EndpointException exception)
            {
                SetState(exception.Permanent ? RemoteState.Failed : RemoteState.Retrying, exception.Message);
                log.Warning("{Destination}: {Error}", Definition.Destination, exception.Message);
                FailedAttempt(null);
                try
                {
                    await Task.Delay(exception.Permanent ? PermanentRetry : Backoff.RemoteRetry.After(++failures), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                log.Error(exception, "The loop of {Destination} failed; retrying", Definition.Destination);
                SetState(RemoteState.Retrying, exception.Message);
                try
                {
                    await Task.Delay(Backoff.RemoteRetry.After(++failures), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One batch: renames first, then one rsync of every listed path (or of everything).</summary>
    private async Task<RsyncResult> SendAsync(Batch batch, CancellationToken token)
    {
        if (await safety.CheckAsync(token).ConfigureAwait(false) is { } refused)
        {
            return refused; // not sent: a vanished or emptied workspace never turns into a mass deletion remotely
        }

        if (!batch.FullReconcile)
        {
            incrementalWorks ??= await SelfTestAsync(token).ConfigureAwait(false);
        }

        if (batch.FullReconcile || incrementalWorks == false)
        {
            // The filter may have changed (a full reconcile follows every change of it): an armed rsync read the old one.
            Disarm();
            return await FullAsync(token).ConfigureAwait(false);
        }

        await endpoint.MoveAsync(batch.Moves, token).ConfigureAwait(false);

        // Files only (no directory to recurse; a directory listed as a path stands for its own attributes): every listed
        // file is compared by content, since a rewrite with the same size and timestamp (cp -p, a restore, two writes
        // in one clock tick) passes rsync's quick check.
        var entries = Reachable(batch.Entries);
        var filesOnly = entries.All(e => e.Kind == PendingKind.Path && e.Path.Length > 0);
        byte[]? list = null;
        RsyncProcess run;
        if (!filesOnly && entries.Count > 0 && OperandBytes(entries) <= MaxOperandBytes)
        {
            run = RsyncProcess.Start(OperandArguments(entries), takesInput: false, progressLine: null);
        }
        else
        {
            list = ListOf(entries);
            var arguments = IncrementalArguments(filesOnly);
            if (filesOnly && armed is { HasExited: false } ready && ready.Arguments.SequenceEqual(arguments))
            {
                run = ready;
                armed = null;
            }
            else
            {
                run = RsyncProcess.Start(arguments, takesInput: true, progressLine: null);
            }
        }

        log.Debug("Sending {Count} paths ({Moves} renames)", entries.Count, batch.Moves.Count);
        if (log.IsEnabled(Serilog.Events.LogEventLevel.Verbose))
        {
            log.Verbose("Batch {Generation}: renames {Moves}; paths {Paths}", batch.Generation,
                batch.Moves.Select(m => $"{LinuxPath.Display(m.From)} -> {LinuxPath.Display(m.To)}"),
                entries.Select(e => (e.Kind == PendingKind.Tree ? "tree " : "") + LinuxPath.Display(e.Path)));
        }

        var started = Stopwatch.GetTimestamp();
        using (run)
        {
            var result = await run.RunAsync(list, token).ConfigureAwait(false);
            log.Debug("Sent {Count} paths in {Milliseconds:0.0} ms: {Files} files, {Bytes} bytes, exit {ExitCode}",
                entries.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, result.FilesTransferred, result.BytesSent, result.ExitCode);
            return result;
        }
    }

    /// <summary>
    /// The entries rsync can reach: none below an entry that is not a directory any more. A directory deleted
    /// with its contents, or replaced by a file or a link, is mirrored whole by its own entry (deleted, or
    /// replaced under --force); rsync would fail on a path below a file ("Not a directory", exit 23) and the
    /// batch would be retried for ever.
    /// </summary>
    private List<(string Path, PendingKind Kind)> Reachable(IReadOnlyList<(string Path, PendingKind Kind)> entries)
    {
        var cut = new HashSet<string>(StringComparer.Ordinal);
        var parents = new Dictionary<string, bool>(StringComparer.Ordinal);
        var reachable = new List<(string Path, PendingKind Kind)>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.Path.Length > 0 && (IsBelowAny(entry.Path, cut) || !ParentIsDirectory(entry.Path)))
            {
                // Below a path that is no longer a directory: that path's own change (this batch's, or the next's)
                // deletes or replaces it whole on the remote, and rsync would fail on this one.
                continue;
            }

            reachable.Add(entry);
            if (entry.Path.Length > 0 && Posix.Status(Path.Combine(root, entry.Path)).Kind != FileKind.Directory)
            {
                cut.Add(entry.Path);
            }
        }

        return reachable;

        bool ParentIsDirectory(string path)
        {
            var slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                return true;
            }

            var parent = path[..slash];
            if (!parents.TryGetValue(parent, out var isDirectory))
            {
                parents[parent] = isDirectory = Posix.Status(Path.Combine(root, parent)).Kind == FileKind.Directory;
            }

            return isDirectory;
        }

        static bool IsBelowAny(string path, HashSet<string> cut)
        {
            for (var slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
            {
                if (cut.Contains(path[..slash]))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The entries as a --files-from list: each path's own bytes (not always UTF-8), NUL-terminated.</summary>
    private static byte[] ListOf(List<(string Path, PendingKind Kind)> entries)
    {
        // "./" first: rsync skips --files-from lines that start with ';' or '#' as comments, even with --from0.
        var list = new ArrayBufferWriter<byte>();
        foreach (var (path, _) in entries)
        {
            list.Write(path.Length == 0 ? "."u8 : "./"u8);
            LinuxPath.Append(list, path);
            list.Write("\0"u8);
        }

        return list.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The bytes the entries take as operands; <see cref="long.MaxValue"/> when one is not UTF-8, since a
    /// process argument is always encoded as UTF-8 (such a batch goes as a --files-from list, which is bytes).
    /// </summary>
    private static long OperandBytes(List<(string Path, PendingKind Kind)> entries) =>
        entries.All(e => LinuxPath.IsPlain(e.Path)) ? entries.Sum(e => (long)Encoding.UTF8.GetByteCount(e.Path) + 4) : long.MaxValue;

    /// <summary>
    /// A batch with trees names its paths as operands (<c>root/./path</c>, with -R) rather than in a
    /// --files-from list: the result is the same, but rsync's incremental recursion then overlaps scanning
    /// and sending, and a --files-from transfer of a 10,000-file tree took 17% longer (rsync 3.5.0, local
    /// tmpfs, eight interleaved runs each).
    /// </summary>
    private List<string> OperandArguments(List<(string Path, PendingKind Kind)> entries)
    {
        var arguments = new List<string>(Rsync.CommonArguments()) { "--relative", "--delete-missing-args" };
        AddFilterAndTransport(arguments, entries.Select(e => root.TrimEnd('/') + "/./" + e.Path));
        return arguments;
    }

    private List<string> IncrementalArguments(bool filesOnly)
    {
        var arguments = new List<string>(Rsync.CommonArguments()) { "--files-from=-", "--from0", "--delete-missing-args" };
        if (filesOnly)
        {
            // Without recursion, a listed directory is its own attributes only (--dirs), and a vanished one is still deleted whole.
            arguments.AddRange(["--ignore-times", "--no-recursive", "--dirs"]);
        }

        AddFilterAndTransport(arguments);
        return arguments;
    }

    /// <summary>
    /// Arms once no remote of the workspace is sending (<see cref="SendActivity"/>), or after
    /// <see cref="ArmDeferralCap"/>. False when a wake came first: the loop looks at its changes again.
    /// </summary>
    private async Task<bool> ArmWhenQuietAsync(CancellationToken token)
    {
        // Tested here, after the first full reconcile rather than before it: attaching a remote waits for no self-test.
        incrementalWorks ??= await SelfTestAsync(token).ConfigureAwait(false);
        if (incrementalWorks != true || armed is { HasExited: false } || activity.Quiet)
        {
            Arm();
            return true;
        }

        using var deferral = CancellationTokenSource.CreateLinkedTokenSource(token);
        deferral.CancelAfter(ArmDeferralCap);
        try
        {
            // Woken by a change, a stop, or the others' quiet: the loop looks again.
            await wake.Reader.WaitToReadAsync(deferral.Token).ConfigureAwait(false);
            wake.Reader.TryRead(out _);
            return false;
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            Arm();
            return true;
        }
    }

    /// <summary>
    /// Starts the rsync for the next batch of files now, while nothing is waiting: its ssh session, remote
    /// rsync and protocol handshake are then done before the next change, which costs only its transfer.
    /// </summary>
    private void Arm()
    {
        if (incrementalWorks != true || armed is { HasExited: false })
        {
            return;
        }

        Disarm();
        try
        {
            armed = RsyncProcess.Start(IncrementalArguments(filesOnly: true), takesInput: true, progressLine: null);
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            log.Warning("Could not start rsync ahead of the next change: {Error}", exception.Message);
        }
    }

    private void Disarm()
    {
        armed?.Dispose();
        armed = null;
    }

    private async Task<RsyncResult> FullAsync(CancellationToken token)
    {
        // Incremental recursion (rsync's default) overlaps scanning and sending; the progress total grows as
        // the scan goes ("ir-chk") instead of being known up front, which is the price of starting at once.
        var arguments = new List<string>(Rsync.CommonArguments()) { "--info=progress2" };
        AddFilterAndTransport(arguments);
        log.Information("Full reconcile to {Destination}", Definition.Destination);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await Rsync.RunAsync(arguments, null, OnProgressLine, token).ConfigureAwait(false);
        log.Information("Full reconcile to {Destination} ended in {Seconds:0.00} s: {Files} files and {Bytes} bytes sent, {Result}",
            Definition.Destination, clock.Elapsed.TotalSeconds, result.FilesTransferred, result.BytesSent, result.Describe());
        lock (gate)
        {
            progress = null;
        }

        return result;
    }

    /// <summary>Adds the filter, the transport and the operands: <paramref name="sources"/>, or the root, then the remote.</summary>
    private void AddFilterAndTransport(List<string> arguments, IEnumerable<string>? sources = null)
    {
        if (filterFile() is { } rules)
        {
            arguments.Add($"--filter=. {rules}");
        }

        arguments.AddRange(endpoint.RsyncTransport);
        arguments.Add("--");
        arguments.AddRange(sources ?? [root.TrimEnd('/') + "/"]);
        arguments.Add(endpoint.RsyncRoot);
    }

    private void OnProgressLine(string line)
    {
        if (Rsync.ParseProgress(line, Definition.Name) is not { } parsed)
        {
            return;
        }

        IProgress<SyncProgress>[] listeners;
        lock (gate)
        {
            progress = parsed;
            listeners = [.. progressListeners];
        }

        foreach (var listener in listeners)
        {
            listener.Report(parsed);
        }

        changed();
    }

    /// <summary>
    /// Checks once per remote that rsync's --files-from with --delete-missing-args deletes what it
    /// should (rsync 3.4.3 and some backports break it). If not, every batch becomes a full reconcile.
    /// </summary>
    private async Task<bool> SelfTestAsync(CancellationToken token)
    {
        try
        {
            var scratch = await endpoint.CreateScratchAsync(Definition.Id, token).ConfigureAwait(false);
            if (scratch is null)
            {
                log.Warning("Could not create a scratch directory for the rsync self-test on {Destination}; every change will be sent by a full reconcile", Definition.Destination);
                return false;
            }

            DirectoryInfo? empty = null;
            try
            {
                empty = TemporaryDirectory.CreateFresh($"wsync-selftest-src-{Definition.Id:n}-");
                var arguments = new List<string>(Rsync.CommonArguments()) { "--files-from=-", "--from0", "--delete-missing-args" };
                arguments.AddRange(endpoint.RsyncTransport);
                arguments.AddRange(["--", empty.FullName + "/", scratch.Operand]);
                var result = await Rsync.RunAsync(arguments, "./gone\0"u8.ToArray(), null, token).ConfigureAwait(false);
                var works = result.Outcome == RsyncOutcome.Success && await scratch.IsGoneAsync().ConfigureAwait(false);
                if (!works)
                {
                    log.Warning("rsync against {Destination} mishandles --files-from with --delete-missing-args ({Result}); every change will be sent by a full reconcile",
                        Definition.Destination, result.Describe());
                }

                return works;
            }
            finally
            {
                // However the test ends (the remote detached, the monitor stopping), nothing stays behind.
                await scratch.RemoveAsync().ConfigureAwait(false);
                empty?.Delete(recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            log.Warning("The rsync self-test for {Destination} could not run ({Error}); every change will be sent by a full reconcile",
                Definition.Destination, exception.Message);
            return false;
        }
    }

    private void Completed(Batch batch, RsyncResult result, TimeSpan duration)
    {
        List<TaskCompletionSource<bool>> done = [];
        RemoteState previous, next;
        string? previousError;
        lock (gate)
        {
            previous = state;
            previousError = lastError;
            completedGeneration = Math.Max(completedGeneration, batch.Generation);
            lastSyncTime = DateTimeOffset.UtcNow;
            bytesSent += result.BytesSent;
            filesSent += result.FilesTransferred;
            initialSyncDone = initialSyncDone || batch.FullReconcile;
            state = next = Pending.IsEmpty ? RemoteState.InSync : RemoteState.Syncing;
            lastError = null;
            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].Generation <= completedGeneration)
                {
                    done.Add(waiters[i].Done);
                    waiters.RemoveAt(i);
                }
            }
        }

        foreach (var waiter in done)
        {
            waiter.TrySetResult(true);
        }

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

    /// <summary>Ends the fail-fast waits that this attempt covered.</summary>
    private void FailedAttempt(Batch? batch)
    {
        List<TaskCompletionSource<bool>> failed = [];
        lock (gate)
        {
            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].FailFast && (batch is null || waiters[i].Generation <= batch.Generation))
                {
                    failed.Add(waiters[i].Done);
                    waiters.RemoveAt(i);
                }
            }
        }

        foreach (var waiter in failed)
        {
            waiter.TrySetResult(false);
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

        if (previous != next && !RoutineTransitions.Contains((previous, next)))
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
