using Wsync.Platform;

namespace Wsync.Monitor.Watching;

/// <summary>
/// The watcher's changes that are not final yet, held back until they are: files being written (sent once,
/// complete) and deletions (sent after the last of a burst, so an `rm -rf` of the root halts before any of its
/// deletions reaches a remote). Times are Environment.TickCount64. Used by the watcher's thread alone.
/// </summary>
internal sealed class HeldChanges
{
    /// <summary>
    /// A file being written (IN_CREATE or IN_MODIFY, no IN_CLOSE_WRITE yet) is held until its writer closes
    /// it, or until it has been quiet this long: an edit is sent once, complete, instead of once half-written
    /// and again when closed (the second rsync would double the latency).
    /// </summary>
    private const int WriteQuietMilliseconds = 50;

    /// <summary>The longest a file written without pause (a log held open) is held before it is sent anyway.</summary>
    private const int HoldMilliseconds = 1000;

    /// <summary>
    /// Deletions are held until no deletion has been seen for this long (at most <see cref="HoldMilliseconds"/>):
    /// an `rm -rf` of the root deletes its files before the root itself, and without the hold the remotes would
    /// mirror those deletions before the root's IN_DELETE_SELF halts the workspace. Every deletion waits this
    /// long, but 25 ms let a busy machine's `rm -rf` (descheduled between two unlinks) leak its first
    /// deletions in the test suite; an edit, which is what latency is about, never waits for it.
    /// </summary>
    private const int DeleteQuietMilliseconds = 100;

    /// <summary>Files being written, by path: when the first and the last event were seen, and whether one was a write.</summary>
    private readonly Dictionary<string, (long First, long Last, bool Written)> writing = new(StringComparer.Ordinal);

    /// <summary>Deleted (or moved out) paths held back.</summary>
    private readonly HashSet<string> deleting = new(StringComparer.Ordinal);

    /// <summary>When the first and the last held deletion were seen; meaningless while <see cref="deleting"/> is empty.</summary>
    private (long First, long Last) deletions;

    /// <summary>Milliseconds until the next held change is due (poll's timeout), or -1 when none is held.</summary>
    public int NextDue()
    {
        if (writing.Count == 0 && deleting.Count == 0)
        {
            return -1;
        }

        var due = writing.Count == 0
            ? long.MaxValue
            : writing.Values.Min(w => Math.Min(w.Last + WriteQuietMilliseconds, w.First + HoldMilliseconds));
        if (deleting.Count > 0)
        {
            due = Math.Min(due, DeletionsDue);
        }

        return (int)Math.Clamp(due - Environment.TickCount64, 0, HoldMilliseconds);
    }

    /// <summary>
    /// True when a file event means "being written": held. Any other event of the path (closed, deleted, renamed,
    /// chmod) ends its hold and is sent now. <paramref name="neverWritten"/> tells a new entry no writer will
    /// close (a symlink, a FIFO): nothing to wait for.
    /// </summary>
    public bool HoldWrite(string path, uint mask, Func<string, bool> neverWritten)
    {
        if ((mask & (Inotify.Create | Inotify.Modify)) == 0 || (mask & Inotify.CloseWrite) != 0)
        {
            writing.Remove(path);
            return false;
        }

        if ((mask & Inotify.Create) != 0 && neverWritten(path))
        {
            return false;
        }

        var now = Environment.TickCount64;
        var written = (mask & Inotify.Modify) != 0; // IN_CREATE alone is a new name (a hard link, say), not a write
        writing[path] = writing.TryGetValue(path, out var write) ? (write.First, now, write.Written || written) : (now, now, written);
        return true;
    }

    /// <summary>Holds a deletion back with the others (see <see cref="DeleteQuietMilliseconds"/>).</summary>
    public void HoldDeletion(string path)
    {
        var now = Environment.TickCount64;
        deletions = deleting.Count == 0 ? (now, now) : (deletions.First, now);
        deleting.Add(path);
    }

    /// <summary>
    /// Hands over the held changes that are due, all of them when <paramref name="all"/> (a drain asks for
    /// everything seen so far); <paramref name="written"/> hears each file released after a write.
    /// </summary>
    public void Release(List<Change> changes, bool all, Action<string> written)
    {
        var now = Environment.TickCount64;
        if (deleting.Count > 0 && (all || now >= DeletionsDue))
        {
            changes.AddRange(deleting.Select(Change.OfPath));
            deleting.Clear();
        }

        foreach (var (path, write) in writing)
        {
            if (all || now >= write.Last + WriteQuietMilliseconds || now >= write.First + HoldMilliseconds)
            {
                if (write.Written)
                {
                    written(path);
                }

                changes.Add(Change.OfPath(path));
                writing.Remove(path);
            }
        }
    }

    private long DeletionsDue => Math.Min(deletions.Last + DeleteQuietMilliseconds, deletions.First + HoldMilliseconds);
}
