using System.Diagnostics;
using Serilog;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>How a batch divides between the remote's transport and its <see cref="BulkLane"/>.</summary>
/// <param name="Now">What the remote's transport sends now (renames included).</param>
/// <param name="ForLane">Trees and large files the lane starts on once <paramref name="Now"/> is sent.</param>
/// <param name="Waiting">What waits for the lane's transfer to end (it touches a path the lane carries, or is bulk itself).</param>
internal sealed record LaneSplit(Batch Now, IReadOnlyList<(string Path, PendingKind Kind)> ForLane, Batch? Waiting);

/// <summary>
/// The bulk lane of one remote: trees and large files go to an rsync of their own that runs beside the remote's
/// loop, so a small change never waits behind a 2 GB file or a 10,000-file tree (head-of-line blocking). One
/// transfer at a time. Order per path holds: while a transfer runs, a later change at, above or below one of
/// its paths waits until it ends, and so does any other bulk. When it ends, the directories above what it
/// carried are sent again (their times: rsync set them from what it read when it started, and small changes
/// made since set newer ones). A remote whose rsync cannot send incrementally (see <see cref="RsyncTransport"/>)
/// has no lane. Used by the loop's task alone; the transfer runs on the thread pool and signals its end.
/// </summary>
internal sealed class BulkLane(RsyncTransport rsync, string root, Action finished, ILogger log)
{
    /// <summary>
    /// Files at least this large go to the lane. Below it, a file goes with the batch it is in (inline through the
    /// agent up to 256 KiB, else rsync) in well under the second a small change may wait behind it on a slow link.
    /// </summary>
    public const long LargeFile = 8L << 20;

    /// <summary>The transfer in flight; null when the lane is idle.</summary>
    private Task<SendResult>? running;

    /// <summary>What the transfer in flight carries (its entries and the generation of the batch they came from); null when idle.</summary>
    private Batch? carrying;

    /// <summary>Null until asked once: whether this remote's rsync sends lists incrementally (else the lane stays unused).</summary>
    private bool? usable;

    /// <summary>Failed transfers in a row; while <see cref="retryAt"/> is ahead, bulk goes with its batch, as without a lane.</summary>
    private int failures;

    private long retryAt;

    public bool Busy => running is not null;

    /// <summary>Completes when the transfer in flight ends (at once when none is).</summary>
    public Task Idle => running ?? Task.CompletedTask;

    /// <summary>Whether <paramref name="path"/> is, or is inside, or holds something the lane is writing now, or is rsync's temporary name for it.</summary>
    public bool Covers(string path) =>
        carrying is { } batch && batch.Entries.Any(e => e.Path == path || IsBelow(path, e.Path) || IsBelow(e.Path, path) || IsTemporaryOf(path, e.Path));

    /// <summary>Whether the lane takes part of batches now: rsync sends incrementally here, and no failure is being waited out.</summary>
    public async Task<bool> ReadyAsync(CancellationToken cancellationToken)
    {
        usable ??= await rsync.SendsIncrementallyAsync(cancellationToken).ConfigureAwait(false);
        return usable == true && Stopwatch.GetTimestamp() >= retryAt;
    }

    /// <summary>Whether the batch holds a tree or a large file (what the lane is for).</summary>
    public bool Wants(Batch batch) => batch.Entries.Any(IsBulk);

    /// <summary>Divides <paramref name="batch"/> (not a full reconcile): see <see cref="LaneSplit"/>.</summary>
    public LaneSplit Split(Batch batch, bool ready)
    {
        var now = new List<(string Path, PendingKind Kind)>();
        var forLane = new List<(string Path, PendingKind Kind)>();
        var waiting = new List<(string Path, PendingKind Kind)>();
        foreach (var entry in batch.Entries)
        {
            if (Busy && Covers(entry.Path))
            {
                waiting.Add(entry);
            }
            else if (!ready || !IsBulk(entry))
            {
                now.Add(entry);
            }
            else
            {
                (Busy ? waiting : forLane).Add(entry);
            }
        }

        // A rename that touches what the lane writes waits too; put back, it becomes its two paths (PendingChanges.Requeue).
        var moves = batch.Moves.Where(m => !Busy || !(Covers(m.From) || Covers(m.To))).ToList();
        var waitingMoves = batch.Moves.Except(moves).ToList();
        return new LaneSplit(
            batch with { Entries = now, Moves = moves },
            forLane,
            waiting.Count + waitingMoves.Count > 0 ? batch with { Entries = waiting, Moves = waitingMoves } : null);
    }

    /// <summary>Starts the transfer of <paramref name="entries"/> (from the batch of <paramref name="generation"/>) beside the loop.</summary>
    public void Start(IReadOnlyList<(string Path, PendingKind Kind)> entries, long generation, CancellationToken cancellationToken)
    {
        var batch = new Batch(entries, [], false, generation);
        carrying = batch;
        log.Debug("Bulk lane: {Count} trees and large files go beside the loop", entries.Count);
        running = Task.Run(async () =>
        {
            try
            {
                return await rsync.SendAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                finished();
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// When the transfer in flight has ended: what it carried and how it went (a fault is a Transient outcome);
    /// the lane is idle again. Null while it runs, or when none was.
    /// </summary>
    public (Batch Carried, SendResult Result)? TakeFinished()
    {
        if (running is not { IsCompleted: true } done || carrying is not { } carried)
        {
            return null;
        }

        running = null;
        carrying = null;
        var result = done.IsCompletedSuccessfully
            ? done.Result
            : new SendResult(SendOutcome.Transient, 0, 0, done.Exception?.InnerException?.Message ?? "cancelled");
        if (result.Outcome == SendOutcome.Success)
        {
            failures = 0;
            retryAt = 0;
        }
        else
        {
            var delay = Backoff.BulkLaneRetry.After(++failures);
            retryAt = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
            log.Warning("The bulk lane's rsync failed ({Error}); its paths go again, with their batches for {Delay}", result.Description, delay);
        }

        return (carried, result);
    }

    /// <summary>The directories above what a transfer carried, whose times it may have set from before newer changes.</summary>
    public static IEnumerable<string> DirectoriesAbove(Batch carried) =>
        carried.Entries.Select(e => e.Path.LastIndexOf('/') is var slash and >= 0 ? e.Path[..slash] : "").Distinct(StringComparer.Ordinal);

    private bool IsBulk((string Path, PendingKind Kind) entry)
    {
        if (entry.Kind == PendingKind.Tree)
        {
            return entry.Path.Length > 0;
        }

        var status = Posix.Status(entry.Path.Length == 0 ? root : root.TrimEnd('/') + "/" + entry.Path);
        return status.Kind == FileKind.File && status.Size >= LargeFile;
    }

    /// <summary>rsync writes a file as ".NAME.XXXXXX" beside it, then renames it.</summary>
    private static bool IsTemporaryOf(string path, string file)
    {
        var (directory, name) = (file.LastIndexOf('/') is var slash and >= 0 ? file[..(slash + 1)] : "", file[(file.LastIndexOf('/') + 1)..]);
        return path.StartsWith(directory, StringComparison.Ordinal) && path.AsSpan(directory.Length).StartsWith("." + name + ".", StringComparison.Ordinal)
            && !path.AsSpan(directory.Length).Contains('/');
    }

    private static bool IsBelow(string path, string directory) =>
        directory.Length == 0 ? path.Length > 0 : path.Length > directory.Length && path[directory.Length] == '/' && path.StartsWith(directory, StringComparison.Ordinal);
}
