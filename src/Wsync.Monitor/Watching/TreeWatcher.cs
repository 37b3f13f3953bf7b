using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Serilog;
using Wsync.Platform;

namespace Wsync.Monitor.Watching;

/// <summary>
/// Watches a workspace with one inotify instance and a watch per directory, on a thread of its own
/// that sleeps in poll(2) until the kernel has events or someone asks for a drain. Translates events
/// into <see cref="Change"/>s for the sink: renames paired by cookie, new directories watched and then
/// scanned (so nothing created before the watch existed is missed), excluded directories never watched.
/// </summary>
internal sealed class TreeWatcher : IDisposable
{
    private const int BufferSize = 256 * 1024;

    /// <summary>How long an unpaired IN_MOVED_FROM waits for its IN_MOVED_TO before counting as a move out.</summary>
    private const int MovePairingMilliseconds = 2;

    private readonly string root;
    private readonly IWatchSink sink;
    private readonly ILogger log;

    /// <summary>WSYNC_LOG_LEVEL=Verbose: every inotify event is logged (for finding a lost change; costly).</summary>
    private readonly bool tracing;

    /// <summary>Drain requests not yet answered; answered once every event queued before them was handed to the sink.</summary>
    private readonly ConcurrentQueue<TaskCompletionSource> drains = new();

    /// <summary>Which directory each watch stands for. Watcher thread only (and Start before it runs).</summary>
    private readonly WatchTable watches = new();

    /// <summary>IN_MOVED_FROM events waiting for their IN_MOVED_TO, by cookie.</summary>
    private readonly Dictionary<uint, (string Path, bool IsDirectory)> movesOut = [];

    /// <summary>The events of one read pass, kept to be reused. Watcher thread only.</summary>
    private readonly List<Inotify.Event> events = [];

    /// <summary>Writes in progress and deletions, held until they are final. Watcher thread only.</summary>
    private readonly HeldChanges held = new();

    /// <summary>Set when a file with hard links changed in place since the last hand-over (<see cref="NoteInPlaceChange"/>). Watcher thread only.</summary>
    private bool linkedFileChanged;

    /// <summary>fs.inotify.max_user_watches, read at Start; null when the kernel has none.</summary>
    private long? watchLimit;

    /// <summary>The watches this user's other inotify instances held when watching started (counted once, at Start).</summary>
    private long othersWatching;

    /// <summary>Set once the user was warned that watches are nearly used up. Start, then the watcher thread.</summary>
    private bool nearReported;

    private volatile PathFilter filter;
    private volatile bool stopping;
    private int inotifyFd = -1;
    private int wakeFd = -1;
    private Thread? thread;
    private bool limitReported;

    public TreeWatcher(string root, PathFilter filter, IWatchSink sink, ILogger log)
    {
        this.root = root;
        this.filter = filter;
        this.sink = sink;
        this.log = log;
        tracing = log.IsEnabled(Serilog.Events.LogEventLevel.Verbose);
    }

    /// <summary>Directories watched now.</summary>
    public int WatchCount => watches.Count;

    /// <summary>Set when the watch limit was hit: the watcher runs, but some directories are not watched.</summary>
    public bool LimitReached => limitReported;

    /// <summary>Creates the inotify instance, watches the whole tree and starts the thread.</summary>
    public void Start()
    {
        inotifyFd = Inotify.Init(Inotify.NonBlocking | Inotify.CloseOnExec);
        wakeFd = Inotify.EventFd(0, Inotify.NonBlocking | Inotify.CloseOnExec);
        if (inotifyFd < 0 || wakeFd < 0)
        {
            throw new IOException($"inotify_init1 failed (errno {Marshal.GetLastPInvokeError()}); see fs.inotify.max_user_instances.");
        }

        var (instances, watching) = ProcFs.InotifyUsage(Posix.EffectiveUserId());
        othersWatching = watching;
        watchLimit = ProcFs.Setting("fs/inotify/max_user_watches");
        if (ProcFs.Setting("fs/inotify/max_user_instances") is { } instanceLimit && instances >= instanceLimit * 9 / 10)
        {
            ReportNear($"inotify instances are nearly used up: this user has {instances} of fs.inotify.max_user_instances = {instanceLimit} (one per workspace, " +
                $"one per local remote's drift watch, and every other program's). Raise it before the next workspace cannot start (sudo sysctl fs.inotify.max_user_instances={instanceLimit * 2}, and in /etc/sysctl.d/ to keep it).");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        WatchTree("");
        log.Information("Watching {Count} directories of {Root} ({Milliseconds} ms)", WatchCount, root, clock.ElapsedMilliseconds);
        thread = new Thread(Run) { IsBackground = true, Name = "inotify" };
        thread.Start();
    }

    /// <summary>Completes once every event the kernel queued before the call has reached the sink.</summary>
    public Task DrainAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        drains.Enqueue(drained);
        Wake();
        return drained.Task;
    }

    /// <summary>The exclusion rules in force.</summary>
    public PathFilter Filter => filter;

    /// <summary>Replaces the exclusion rules (a .gitignore changed); the caller then reconciles.</summary>
    public void UpdateFilter(PathFilter next) => filter = next;

    public void Dispose()
    {
        stopping = true;
        Wake();
        thread?.Join();
        if (inotifyFd >= 0)
        {
            Inotify.Close(inotifyFd);
        }

        if (wakeFd >= 0)
        {
            Inotify.Close(wakeFd);
        }

        foreach (var pending in drains)
        {
            pending.TrySetResult();
        }
    }

    private unsafe void Wake()
    {
        if (wakeFd < 0)
        {
            return;
        }

        long one = 1;
        Inotify.Write(wakeFd, (byte*)&one, sizeof(long));
    }

    private unsafe void Run()
    {
        var buffer = GC.AllocateArray<byte>(BufferSize, pinned: true);
        var descriptors = stackalloc Inotify.PollDescriptor[2];
        var changes = new List<Change>();
        var answering = new List<TaskCompletionSource>();
        while (!stopping)
        {
            descriptors[0] = new Inotify.PollDescriptor { Fd = inotifyFd, Events = Inotify.PollIn };
            descriptors[1] = new Inotify.PollDescriptor { Fd = wakeFd, Events = Inotify.PollIn };
            if (Inotify.Poll(descriptors, 2, held.NextDue()) < 0 && Marshal.GetLastPInvokeError() != Inotify.ErrorInterrupted)
            {
                log.Error("poll failed with errno {Errno}", Marshal.GetLastPInvokeError());
                Thread.Sleep(100);
                continue;
            }

            if ((descriptors[1].ReturnedEvents & Inotify.PollIn) != 0)
            {
                long counter;
                Inotify.Read(wakeFd, (byte*)&counter, sizeof(long));
            }

            // Everything queued before a drain request was made is in the kernel's queue now.
            while (drains.TryDequeue(out var drain))
            {
                answering.Add(drain);
            }

            try
            {
                var outcome = ReadAvailable(buffer, changes);
                if (movesOut.Count > 0 && WaitForMore(MovePairingMilliseconds))
                {
                    outcome |= ReadAvailable(buffer, changes);
                }

                foreach (var (path, isDirectory) in movesOut.Values)
                {
                    // Moved out of the workspace: its old path is gone.
                    if (isDirectory)
                    {
                        foreach (var wd in watches.ForgetTree(path))
                        {
                            Inotify.RemoveWatch(inotifyFd, wd); // its inode is still watched, outside the workspace
                        }
                    }

                    held.HoldDeletion(path);
                }

                movesOut.Clear();
                if ((outcome & Outcome.RootLost) != 0)
                {
                    // Halt first: the deletions that came with it must reach a halted workspace, never a remote.
                    sink.OnRootLost(StopReasons.RootMissing(root));
                }

                held.Release(changes, all: answering.Count > 0 || (outcome & Outcome.RootLost) != 0, NoteInPlaceChange);
                if (changes.Count > 0)
                {
                    sink.OnChanges(changes);
                    changes = [];
                }

                if ((outcome & Outcome.Rescan) != 0)
                {
                    WatchTree("");
                    sink.OnRescanNeeded("the kernel's event queue overflowed; reconciling everything");
                }
                else if (linkedFileChanged)
                {
                    sink.OnRescanNeeded("a file with more than one name (hard links) changed in place; its other names change with it, unseen");
                }

                linkedFileChanged = false;
            }
            catch (Exception exception)
            {
                log.Error(exception, "Processing inotify events failed; reconciling everything");
                sink.OnRescanNeeded("internal error in the watcher: " + exception.Message);
            }

            foreach (var drain in answering)
            {
                drain.TrySetResult();
            }

            answering.Clear();
        }
    }

    /// <summary>
    /// True for a new entry that no writer will close: a symlink, one already gone, or a FIFO, socket or device,
    /// which rsync does not mirror (no -D): that is said in the log, not skipped in silence.
    /// </summary>
    private bool IsNeverWritten(string path)
    {
        var kind = Posix.Status(Path.Combine(root, path)).Kind;
        if (kind == FileKind.Other)
        {
            log.Warning("{Path} is a FIFO, socket or device file: wsync does not mirror those (only files, directories and symlinks)", LinuxPath.Display(path));
        }

        return kind is FileKind.SymbolicLink or FileKind.Missing or FileKind.Other;
    }

    /// <summary>
    /// A file's content or mode changed in place: if it has other names (hard links), they changed too, and
    /// the kernel reports only the name it was changed through. Each name is its own file on a remote (no
    /// rsync -H), so the others are found and sent by a full reconcile (see <see cref="linkedFileChanged"/>).
    /// One lstat per written file; creating or removing a link is not such a change.
    /// </summary>
    private void NoteInPlaceChange(string path)
    {
        if (!linkedFileChanged && Posix.Status(Path.Combine(root, path)) is { Kind: FileKind.File, Links: > 1 })
        {
            linkedFileChanged = true;
        }
    }

    [Flags]
    private enum Outcome
    {
        None = 0,
        Rescan = 1,
        RootLost = 2,
    }

    private unsafe bool WaitForMore(int milliseconds)
    {
        var descriptor = new Inotify.PollDescriptor { Fd = inotifyFd, Events = Inotify.PollIn };
        return Inotify.Poll(&descriptor, 1, milliseconds) > 0;
    }

    private Outcome ReadAvailable(byte[] buffer, List<Change> changes)
    {
        var outcome = Outcome.None;
        events.Clear();
        Inotify.ReadAvailable(inotifyFd, buffer, events);
        foreach (var (wd, mask, cookie, name) in events)
        {
            outcome |= Handle(wd, mask, cookie, name, changes);
        }

        return outcome;
    }

    /// <summary>One event: what it means for the watches, and the change (if any) it brings.</summary>
    private Outcome Handle(int wd, uint mask, uint cookie, string name, List<Change> changes)
    {
        if (tracing)
        {
            log.Verbose("inotify wd {Watch} ({Directory}) mask {Mask:x} cookie {Cookie} name {Name}",
                wd, watches.TryGetDirectory(wd, out var known) ? LinuxPath.Display(known) : "?", mask, cookie, LinuxPath.Display(name));
        }

        if ((mask & Inotify.QueueOverflow) != 0)
        {
            return Outcome.Rescan;
        }

        if (!watches.TryGetDirectory(wd, out var directory))
        {
            return (mask & Inotify.Ignored) != 0 ? Outcome.None : Outcome.Rescan; // events were lost
        }

        if ((mask & Inotify.Ignored) != 0)
        {
            watches.Forget(wd);
            return directory.Length == 0 ? Outcome.RootLost : Outcome.None;
        }

        if (name.Length == 0)
        {
            return HandleSelf(directory, mask, changes);
        }

        var path = directory.Length == 0 ? name : directory + "/" + name;
        var isDirectory = (mask & Inotify.IsDirectory) != 0;
        var current = filter;
        if (current.IsExcluded(path, isDirectory))
        {
            return Outcome.None;
        }

        if (current.UsesGitIgnore && name == ".gitignore")
        {
            UpdateFilter(PathFilter.For(root, ExcludePatterns, useGitIgnore: true));
            changes.Add(Change.OfPath(path));
            return Outcome.Rescan;
        }

        if (!isDirectory && held.HoldWrite(path, mask, IsNeverWritten))
        {
            return Outcome.None;
        }

        if ((mask & Inotify.MovedFrom) != 0)
        {
            movesOut[cookie] = (path, isDirectory);
        }
        else if ((mask & Inotify.MovedTo) != 0)
        {
            HandleMovedIn(path, isDirectory, cookie, changes);
        }
        else if (isDirectory && (mask & Inotify.Create) != 0)
        {
            // Watch first, then the Tree change makes rsync send whatever was created before the watch.
            WatchTree(path);
            changes.Add(Change.OfTree(path));
        }
        else if ((mask & Inotify.Delete) != 0)
        {
            if (isDirectory)
            {
                watches.ForgetTree(path);
            }

            held.HoldDeletion(path);
        }
        else
        {
            // A change of the entry itself: a file's content or attributes, or a directory's own attributes
            // (IN_ATTRIB: tar and cp -a set them last). A directory's content has events of its own, so its
            // attributes never need a walk of what is below it.
            if (!isDirectory && (mask & (Inotify.CloseWrite | Inotify.Modify | Inotify.Attrib)) != 0)
            {
                NoteInPlaceChange(path);
            }

            changes.Add(Change.OfPath(path));
        }

        return Outcome.None;
    }

    /// <summary>An event about a watched directory itself; its parent reports the same change by name, but nothing reports the root's.</summary>
    private static Outcome HandleSelf(string directory, uint mask, List<Change> changes)
    {
        if (directory.Length == 0 && (mask & (Inotify.DeleteSelf | Inotify.MoveSelf | Inotify.Unmount)) != 0)
        {
            return Outcome.RootLost;
        }

        if (directory.Length == 0 && (mask & Inotify.Attrib) != 0)
        {
            changes.Add(Change.OfPath(""));
        }

        return (mask & Inotify.Unmount) != 0 ? Outcome.Rescan : Outcome.None;
    }

    /// <summary>IN_MOVED_TO: a rename inside the workspace when its IN_MOVED_FROM came (same cookie), else a move in from outside.</summary>
    private void HandleMovedIn(string path, bool isDirectory, uint cookie, List<Change> changes)
    {
        if (movesOut.Remove(cookie, out var from))
        {
            if (isDirectory)
            {
                // The watches follow the inode; but a directory created just before the move (in it, or it
                // itself) may have been renamed before its IN_CREATE was read, and adding its watch by the
                // old name failed. Watching the new name again adds what is missing (the rest keep their
                // descriptors): without it, nothing later made inside would ever be seen.
                watches.RenameTree(from.Path, path);
                WatchTree(path);
            }

            changes.Add(Change.OfMove(from.Path, path, isDirectory));
        }
        else if (isDirectory)
        {
            WatchTree(path);
            changes.Add(Change.OfTree(path));
        }
        else
        {
            changes.Add(Change.OfPath(path));
        }
    }

    /// <summary>The -Exclude patterns this watcher was built with, for rebuilding the filter.</summary>
    public IReadOnlyList<string> ExcludePatterns { get; init; } = [];

    /// <summary>Adds watches for <paramref name="relative"/> and every directory below it that is not excluded.</summary>
    private void WatchTree(string relative)
    {
        var pending = new Stack<string>([relative]);
        while (pending.Count > 0 && !stopping)
        {
            var directory = pending.Pop();
            var absolute = directory.Length == 0 ? root : Path.Combine(root, directory);
            var wd = Inotify.AddWatch(inotifyFd, absolute, Inotify.DirectoryMask);
            if (wd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Inotify.ErrorNoSpace)
                {
                    ReportLimit();
                    return;
                }

                continue; // vanished, or not a directory any more, or unreadable: its parent's events cover it
            }

            watches.Set(wd, directory);
            CheckHeadroom();

            // By bytes: a directory whose name is not UTF-8 is watched like any other. A symlink is mirrored as
            // a link, never followed; a directory that cannot be read has its parent's events.
            foreach (var (name, kind) in Posix.ReadDirectory(absolute) ?? [])
            {
                var childRelative = directory.Length == 0 ? name : directory + "/" + name;
                if (kind == FileKind.Directory && !filter.IsExcluded(childRelative, isDirectory: true))
                {
                    pending.Push(childRelative);
                }
            }
        }
    }

    /// <summary>
    /// Warns once when this workspace's watches and the user's others reach 90 % of max_user_watches: counted as
    /// the watches are added, so the user hears it before a new directory goes unwatched, not after.
    /// </summary>
    private void CheckHeadroom()
    {
        if (nearReported || watchLimit is not { } limit || othersWatching + watches.Count < limit * 9 / 10)
        {
            return;
        }

        ReportNear($"inotify watches are nearly used up: this workspace watches {watches.Count} directories and this user's other programs {othersWatching}, " +
            $"of fs.inotify.max_user_watches = {limit}. Raise it before it runs out (sudo sysctl fs.inotify.max_user_watches={limit * 2}, and in /etc/sysctl.d/ to keep it).");
    }

    private void ReportNear(string message)
    {
        nearReported = true;
        log.Warning("{Message}", message);
        sink.OnWatchLimitNear(message);
    }

    private void ReportLimit()
    {
        if (limitReported)
        {
            return;
        }

        limitReported = true;
        var message = WatchLimit.Explain(root, filter);
        log.Error("{Message}", message);
        sink.OnWatchLimit(message);
    }
}
