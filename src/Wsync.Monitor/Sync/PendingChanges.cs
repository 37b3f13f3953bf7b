using System.Diagnostics;
using Wsync.Monitor.Watching;

namespace Wsync.Monitor.Sync;

/// <summary>How a path waits in <see cref="PendingChanges"/>.</summary>
internal enum PendingKind
{
    /// <summary>rsync the path itself (a file, a link, a deletion, a directory's own attributes).</summary>
    Path,

    /// <summary>rsync the directory and everything below it; covers every pending path beneath.</summary>
    Tree,
}

/// <summary>A rename to replay on the remote before the batch's rsync.</summary>
internal readonly record struct PendingMove(string From, string To, bool IsDirectory);

/// <summary>What one remote loop sends next.</summary>
internal sealed record Batch(
    IReadOnlyList<(string Path, PendingKind Kind)> Entries,
    IReadOnlyList<PendingMove> Moves,
    bool FullReconcile,
    long Generation)
{
    public bool IsEmpty => Entries.Count == 0 && Moves.Count == 0 && !FullReconcile;

    public int Count => FullReconcile ? Math.Max(1, Entries.Count) : Entries.Count + Moves.Count;
}

/// <summary>
/// The changes one remote still needs, coalesced per path. Bounded: past <see cref="MaxPaths"/> paths
/// it collapses to "full reconcile needed", so an outage of any length costs constant memory. Every
/// change bumps <see cref="Generation"/>; a batch carries the generation it covers, so a flush can tell
/// when everything seen before it has been sent. Thread-safe.
/// </summary>
internal sealed class PendingChanges(int maxPaths = PendingChanges.DefaultMaxPaths)
{
    public const int DefaultMaxPaths = 100_000;

    /// <summary>
    /// A new directory is usually still being filled (tar, unzip, git checkout, cp -r): an rsync of it at once
    /// walks it half-full and races the writer, and the next batch walks it all again. A batch holding a new
    /// tree waits until the changes have been quiet this long. An edit of files alone never waits.
    /// </summary>
    public static readonly TimeSpan TreeQuiet = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest a new tree waits for quiet: a writer that never pauses still gets mirrored as it goes.</summary>
    public static readonly TimeSpan TreeSettleCap = TimeSpan.FromMilliseconds(1000);

    /// <summary>How an incoming change combines with what waits for the same path (lsyncd's Combiner, for two kinds).</summary>
    private static readonly Dictionary<(PendingKind? Waiting, PendingKind Incoming), PendingKind> Combine = new()
    {
        [(null, PendingKind.Path)] = PendingKind.Path,
        [(null, PendingKind.Tree)] = PendingKind.Tree,
        [(PendingKind.Path, PendingKind.Path)] = PendingKind.Path,
        [(PendingKind.Path, PendingKind.Tree)] = PendingKind.Tree,
        [(PendingKind.Tree, PendingKind.Path)] = PendingKind.Tree,
        [(PendingKind.Tree, PendingKind.Tree)] = PendingKind.Tree,
    };

    private readonly Lock gate = new();

    /// <summary>Paths waiting, with how. Guarded by <see cref="gate"/>; empty while <see cref="fullReconcile"/>.</summary>
    private readonly Dictionary<string, PendingKind> entries = new(StringComparer.Ordinal);

    /// <summary>Renames waiting, in the order they happened. Guarded by <see cref="gate"/>.</summary>
    private readonly List<PendingMove> moves = [];

    /// <summary>True when only a full reconcile can make the remote right. Guarded by <see cref="gate"/>.</summary>
    private bool fullReconcile;

    /// <summary>Bumped by every change. Guarded by <see cref="gate"/>.</summary>
    private long generation;

    /// <summary>When the oldest waiting new tree arrived (Stopwatch timestamp), or null. Guarded by <see cref="gate"/>.</summary>
    private long? treeSince;

    /// <summary>When the last change arrived (Stopwatch timestamp). Guarded by <see cref="gate"/>.</summary>
    private long lastChange;

    public int MaxPaths { get; } = maxPaths;

    public long Generation
    {
        get
        {
            lock (gate)
            {
                return generation;
            }
        }
    }

    /// <summary>Paths waiting (1 for a pending full reconcile).</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return fullReconcile ? Math.Max(1, entries.Count) : entries.Count + moves.Count;
            }
        }
    }

    public bool IsEmpty
    {
        get
        {
            lock (gate)
            {
                return !fullReconcile && entries.Count == 0 && moves.Count == 0;
            }
        }
    }

    /// <summary>Whether <paramref name="path"/> will be sent as the workspace has it anyway: it, a tree above it, or a rename touching it waits (or a full reconcile).</summary>
    public bool Covers(string path)
    {
        lock (gate)
        {
            if (fullReconcile || entries.ContainsKey(path))
            {
                return true;
            }

            for (var above = path; above.Length > 0;)
            {
                above = above.LastIndexOf('/') is var slash and >= 0 ? above[..slash] : "";
                if (entries.TryGetValue(above, out var kind) && kind == PendingKind.Tree)
                {
                    return true;
                }
            }

            return moves.Any(m => m.From == path || m.To == path || IsBelow(path, m.From) || IsBelow(path, m.To));
        }
    }

    /// <summary>Adds the watcher's changes; returns the generation that covers them.</summary>
    public long Add(IReadOnlyList<Change> changes)
    {
        lock (gate)
        {
            foreach (var change in changes)
            {
                switch (change.Kind)
                {
                    case ChangeKind.Path:
                        AddLocked(change.Path, PendingKind.Path);
                        break;
                    case ChangeKind.Tree:
                        AddLocked(change.Path, PendingKind.Tree);
                        break;
                    case ChangeKind.Move:
                        AddMoveLocked(change.Source!, change.Path, change.IsDirectory);
                        break;
                }
            }

            lastChange = Stopwatch.GetTimestamp();
            if (changes.Any(change => change.Kind == ChangeKind.Tree))
            {
                treeSince ??= lastChange;
            }

            CollapseIfTooBigLocked();
            return ++generation;
        }
    }

    /// <summary>How long to wait before <see cref="Take"/>: zero unless a new tree waits for the changes to quiet down.</summary>
    public TimeSpan SettleDelay()
    {
        lock (gate)
        {
            if (treeSince is not { } since || fullReconcile)
            {
                return TimeSpan.Zero;
            }

            var now = Stopwatch.GetTimestamp();
            var quiet = TreeQuiet - Stopwatch.GetElapsedTime(lastChange, now);
            var cap = TreeSettleCap - Stopwatch.GetElapsedTime(since, now);
            var delay = quiet < cap ? quiet : cap;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }
    }

    /// <summary>Asks for a full reconcile (initial sync, overflow, Sync-WsyncWorkspace); returns its generation.</summary>
    public long RequestFullReconcile()
    {
        lock (gate)
        {
            fullReconcile = true;
            entries.Clear();
            moves.Clear();
            return ++generation;
        }
    }

    /// <summary>Takes everything waiting as one batch, leaving the set empty.</summary>
    public Batch Take()
    {
        lock (gate)
        {
            var batch = new Batch(
                [.. entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value))],
                [.. moves],
                fullReconcile,
                generation);
            entries.Clear();
            moves.Clear();
            fullReconcile = false;
            treeSince = null;
            return batch;
        }
    }

    /// <summary>
    /// Takes what lies clear of every waiting tree (neither in one nor above one), leaving the trees and what
    /// touches them: while a new tree settles (<see cref="SettleDelay"/>), an edit elsewhere need not wait for it.
    /// Empty while renames or a full reconcile wait: those go whole, in order.
    /// </summary>
    public Batch TakeOutsideTrees()
    {
        lock (gate)
        {
            if (fullReconcile || moves.Count > 0)
            {
                return new Batch([], [], false, generation);
            }

            var trees = entries.Where(e => e.Value == PendingKind.Tree).Select(e => e.Key).ToList();
            List<(string Path, PendingKind Kind)> clear =
            [
                .. entries.Where(e => e.Value == PendingKind.Path && !trees.Any(t => e.Key == t || IsBelow(e.Key, t) || IsBelow(t, e.Key)))
                    .OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value)),
            ];
            foreach (var (path, _) in clear)
            {
                entries.Remove(path);
            }

            return new Batch(clear, [], false, generation);
        }
    }

    /// <summary>
    /// Puts back a batch that failed. Its renames are not replayed (the remote's state is unknown):
    /// both ends of each are checked by rsync instead.
    /// </summary>
    public void Requeue(Batch batch)
    {
        lock (gate)
        {
            if (batch.FullReconcile)
            {
                fullReconcile = true;
                entries.Clear();
                moves.Clear();
                return;
            }

            if (fullReconcile)
            {
                return;
            }

            foreach (var (path, kind) in batch.Entries)
            {
                AddLocked(path, kind);
            }

            foreach (var move in batch.Moves)
            {
                AddLocked(move.From, PendingKind.Path);
                AddLocked(move.To, move.IsDirectory ? PendingKind.Tree : PendingKind.Path);
            }

            CollapseIfTooBigLocked();
        }
    }

    private void AddLocked(string path, PendingKind kind)
    {
        if (fullReconcile || CoveredByTreeLocked(path))
        {
            return;
        }

        entries[path] = Combine[(entries.TryGetValue(path, out var waiting) ? waiting : null, kind)];
        if (kind == PendingKind.Tree)
        {
            // The tree covers whatever waited below it.
            foreach (var below in entries.Keys.Where(p => IsBelow(p, path)).ToList())
            {
                entries.Remove(below);
            }
        }
    }

    /// <summary>
    /// A rename: what waited under the old name now waits under the new one, the rename is queued to be
    /// replayed remotely, and both names are checked by rsync after it.
    /// </summary>
    private void AddMoveLocked(string from, string to, bool isDirectory)
    {
        if (fullReconcile)
        {
            return;
        }

        foreach (var (path, kind) in entries.Where(e => e.Key == from || IsBelow(e.Key, from)).ToList())
        {
            entries.Remove(path);
            entries[to + path[from.Length..]] = kind;
        }

        moves.Add(new PendingMove(from, to, isDirectory));
        AddLocked(from, PendingKind.Path);
        AddLocked(to, isDirectory ? PendingKind.Tree : PendingKind.Path);
    }

    private bool CoveredByTreeLocked(string path)
    {
        for (var slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
        {
            if (entries.TryGetValue(path[..slash], out var kind) && kind == PendingKind.Tree)
            {
                return true;
            }
        }

        return entries.TryGetValue("", out var rootKind) && rootKind == PendingKind.Tree && path.Length > 0;
    }

    private void CollapseIfTooBigLocked()
    {
        if (entries.Count + moves.Count > MaxPaths)
        {
            fullReconcile = true;
            entries.Clear();
            moves.Clear();
        }
    }

    private static bool IsBelow(string path, string directory) =>
        directory.Length == 0 ? path.Length > 0 : path.Length > directory.Length && path[directory.Length] == '/' && path.StartsWith(directory, StringComparison.Ordinal);
}
