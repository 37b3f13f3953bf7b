using System.Diagnostics;
using System.Runtime.InteropServices;
using Wsync.Platform;

namespace Wsync.Transfer;

/// <summary>
/// The agent's eye on its root: an inotify watch per directory, read on a thread of its own, telling the
/// session's own writes from everyone else's. The session marks each path before it changes it
/// (<see cref="Own"/>) and calls <see cref="Settle"/> once a run of requests is applied: the kernel queues a
/// change's events before its system call returns, so what Settle reads then and finds marked (or below a
/// marked tree, or under the agent's temporary names) is the session's own, and the marks are dropped.
/// Anything else is drift, handed to the report callback. While rsync writes under the root (the monitor says
/// when: <see cref="SetRsyncRunning"/>) changed paths are collected and reported once it ends; the monitor
/// compares each with the workspace, which rsync's writes match and anyone else's do not.
/// </summary>
internal sealed unsafe class DriftWatch : IDisposable
{
    /// <summary>
    /// A write by hand is several events microseconds apart (truncate, writes, close): drift is reported once
    /// the root has been quiet this long, so that one report says how the write ended.
    /// </summary>
    private const int QuietMilliseconds = 2;

    /// <summary>The longest a report waits for quiet: a writer that never pauses is still reported as it goes.</summary>
    private static readonly TimeSpan QuietCap = TimeSpan.FromMilliseconds(20);

    private const uint Mask = Inotify.Modify | Inotify.Attrib | Inotify.CloseWrite | Inotify.MovedFrom | Inotify.MovedTo
        | Inotify.Create | Inotify.Delete | Inotify.OnlyDirectory | Inotify.DontFollow | Inotify.ExcludeUnlinked;

    private readonly string root;

    /// <summary>Hands over paths that drifted, and whether events were lost; called on whichever thread found them, outside the lock.</summary>
    private readonly Action<IReadOnlyList<string>, bool> report;

    private readonly TextWriter log;

    /// <summary>Guards everything below: the watcher thread reads events under it, and so does the session when it settles.</summary>
    private readonly Lock gate = new();

    private readonly WatchTable watches = new();

    /// <summary>Paths the session changes (or changed) since the last settle: their own events are not drift.</summary>
    private readonly HashSet<string> ownPaths = new(StringComparer.Ordinal);

    /// <summary>Trees the session removed or renamed since the last settle: every event at or below them is its own.</summary>
    private readonly List<string> ownTrees = [];

    /// <summary>Drifted paths not reported yet.</summary>
    private readonly HashSet<string> drifted = new(StringComparer.Ordinal);

    /// <summary>Directories moved away within the events being read, by cookie, until their IN_MOVED_TO (or none) comes.</summary>
    private readonly Dictionary<uint, string> movedAway = [];

    private readonly byte[] buffer = GC.AllocateArray<byte>(64 * 1024, pinned: true);

    /// <summary>The events of one read pass, kept to be reused.</summary>
    private readonly List<Inotify.Event> events = [];

    /// <summary>How many rsyncs write under the root now (a batch's and the bulk lane's may overlap): while any does, drift is collected, not reported.</summary>
    private int rsyncRunning;

    /// <summary>Set when the kernel's queue overflowed: events were lost, so anything may have changed.</summary>
    private bool eventsLost;

    /// <summary>
    /// The most watches drift may take: a quarter of fs.inotify.max_user_watches. Watches are the user's, shared
    /// with the monitor's own watcher (which a local-directory remote shares a machine with): seeing drift must
    /// never be what leaves the workspace unwatched. Beyond it, changes made by others there are not seen (said once).
    /// </summary>
    private readonly long budget = (ProcFs.Setting("fs/inotify/max_user_watches") ?? 8192) / 4;

    private bool limitReported;
    private int inotifyFd = -1;
    private int wakeFd = -1;
    private Thread? thread;
    private volatile bool stopping;

    public DriftWatch(string root, Action<IReadOnlyList<string>, bool> report, TextWriter log)
    {
        this.root = root;
        this.report = report;
        this.log = log;
    }

    /// <summary>Starts watching the tree, on the watcher's own thread: a large tree never holds up the handshake.</summary>
    /// <exception cref="IOException">inotify is not available (fs.inotify.max_user_instances reached).</exception>
    public void Start()
    {
        inotifyFd = Inotify.Init(Inotify.NonBlocking | Inotify.CloseOnExec);
        wakeFd = Inotify.EventFd(0, Inotify.NonBlocking | Inotify.CloseOnExec);
        if (inotifyFd < 0 || wakeFd < 0)
        {
            throw new IOException($"inotify_init1 failed (errno {Marshal.GetLastPInvokeError()}); see fs.inotify.max_user_instances");
        }

        thread = new Thread(Run) { IsBackground = true, Name = "drift" };
        thread.Start();
    }

    /// <summary>Marks <paramref name="path"/> (with everything below it when <paramref name="tree"/>) as about to be changed by the session.</summary>
    public void Own(string path, bool tree = false)
    {
        lock (gate)
        {
            if (tree)
            {
                ownTrees.Add(path);
            }
            else
            {
                ownPaths.Add(path);
            }
        }
    }

    /// <summary>The session applied what it had: its events are all queued now, so they are read and its marks dropped.</summary>
    public void Settle()
    {
        IReadOnlyList<string>? found;
        bool lost;
        lock (gate)
        {
            ReadAvailable();
            ownPaths.Clear();
            ownTrees.Clear();
            (found, lost) = TakeReport();
        }

        Report(found, lost);
    }

    /// <summary>An rsync starts or stopped writing under the root; once none does, what changed meanwhile is reported.</summary>
    public void SetRsyncRunning(bool running)
    {
        IReadOnlyList<string>? found;
        bool lost;
        lock (gate)
        {
            ReadAvailable(); // what came before rsync started is told apart as ever; what rsync did, collected
            rsyncRunning = Math.Max(0, rsyncRunning + (running ? 1 : -1));
            (found, lost) = TakeReport();
        }

        Report(found, lost);
    }

    public void Dispose()
    {
        stopping = true;
        if (wakeFd >= 0)
        {
            long one = 1;
            Inotify.Write(wakeFd, (byte*)&one, sizeof(long));
        }

        thread?.Join();
        foreach (var fd in new[] { inotifyFd, wakeFd })
        {
            if (fd >= 0)
            {
                Inotify.Close(fd);
            }
        }
    }

    private void Run()
    {
        lock (gate)
        {
            WatchTree("");
        }

        var descriptors = stackalloc Inotify.PollDescriptor[2];
        while (!stopping)
        {
            descriptors[0] = new Inotify.PollDescriptor { Fd = inotifyFd, Events = Inotify.PollIn };
            descriptors[1] = new Inotify.PollDescriptor { Fd = wakeFd, Events = Inotify.PollIn };
            if (Inotify.Poll(descriptors, 2, -1) < 0 && Marshal.GetLastPInvokeError() != Inotify.ErrorInterrupted)
            {
                return;
            }

            bool waiting;
            lock (gate)
            {
                ReadAvailable();
                waiting = drifted.Count > 0 && rsyncRunning == 0;
            }

            var since = Stopwatch.GetTimestamp();
            while (waiting && Stopwatch.GetElapsedTime(since) < QuietCap && !stopping)
            {
                descriptors[0] = new Inotify.PollDescriptor { Fd = inotifyFd, Events = Inotify.PollIn };
                if (Inotify.Poll(descriptors, 1, QuietMilliseconds) <= 0)
                {
                    break;
                }

                lock (gate)
                {
                    ReadAvailable();
                }
            }

            IReadOnlyList<string>? found;
            bool lost;
            lock (gate)
            {
                (found, lost) = TakeReport();
            }

            Report(found, lost);
        }
    }

    private void Report(IReadOnlyList<string>? found, bool lost)
    {
        if (found is not null && !stopping)
        {
            report(found, lost);
        }
    }

    /// <summary>What to report now (under the lock): nothing while rsync runs.</summary>
    private (IReadOnlyList<string>? Found, bool Lost) TakeReport()
    {
        if (rsyncRunning > 0 || (drifted.Count == 0 && !eventsLost))
        {
            return (null, false);
        }

        var found = (IReadOnlyList<string>)[.. drifted];
        var lost = eventsLost;
        drifted.Clear();
        eventsLost = false;
        return (found, lost);
    }

    /// <summary>Reads every queued event (under the lock), keeping the watches in step with the tree and collecting drift.</summary>
    private void ReadAvailable()
    {
        events.Clear();
        Inotify.ReadAvailable(inotifyFd, buffer, events);
        foreach (var (wd, mask, cookie, name) in events)
        {
            Handle(wd, mask, cookie, name);
        }

        // A rename's two events are queued together, so a directory whose IN_MOVED_TO did not come left the root:
        // its watches would report a tree that is no longer there.
        foreach (var away in movedAway.Values)
        {
            foreach (var wd in watches.ForgetTree(away))
            {
                Inotify.RemoveWatch(inotifyFd, wd);
            }
        }

        movedAway.Clear();
    }

    private void Handle(int wd, uint mask, uint cookie, string name)
    {
        if ((mask & Inotify.QueueOverflow) != 0)
        {
            eventsLost = true;
            return;
        }

        if ((mask & Inotify.Ignored) != 0)
        {
            watches.Forget(wd);
            return;
        }

        if (!watches.TryGetDirectory(wd, out var directory))
        {
            return;
        }

        var path = name.Length == 0 ? directory : directory.Length == 0 ? name : directory + "/" + name;
        if ((mask & Inotify.IsDirectory) != 0 && name.Length > 0)
        {
            if ((mask & Inotify.MovedFrom) != 0)
            {
                movedAway[cookie] = path;
            }
            else if ((mask & Inotify.MovedTo) != 0 && movedAway.Remove(cookie, out var from))
            {
                watches.RenameTree(from, path);
                WatchTree(path); // what was made in it just before the move may not be watched yet
            }
            else if ((mask & (Inotify.Create | Inotify.MovedTo)) != 0)
            {
                WatchTree(path);
            }
        }

        if (!IsOwn(path, name))
        {
            drifted.Add(path);
        }
    }

    private bool IsOwn(string path, string name)
    {
        if (name.StartsWith(ConfinedRoot.TemporaryPrefix, StringComparison.Ordinal) || ownPaths.Contains(path))
        {
            return true;
        }

        foreach (var tree in ownTrees)
        {
            if (path == tree || (path.Length > tree.Length && path[tree.Length] == '/' && path.StartsWith(tree, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Watches <paramref name="relative"/> and every directory below it (not through symlinks).</summary>
    private void WatchTree(string relative)
    {
        var pending = new Stack<string>([relative]);
        while (pending.Count > 0 && !stopping)
        {
            var directory = pending.Pop();
            var absolute = directory.Length == 0 ? root : root.TrimEnd('/') + "/" + directory;
            var wd = watches.Count < budget ? Inotify.AddWatch(inotifyFd, absolute, Mask) : -1;
            if (wd < 0)
            {
                if ((watches.Count >= budget || Marshal.GetLastPInvokeError() == Inotify.ErrorNoSpace) && !limitReported)
                {
                    limitReported = true;
                    log.WriteLine($"wsync-agent: {watches.Count} directories watched, a quarter of fs.inotify.max_user_watches at most: " +
                        $"changes made by others below '{LinuxPath.Display(absolute)}' and in further directories are not seen");
                }

                continue; // gone already, or not a directory any more: its parent's events tell
            }

            watches.Set(wd, directory);
            foreach (var (name, kind) in Posix.ReadDirectory(absolute) ?? [])
            {
                if (kind == FileKind.Directory)
                {
                    pending.Push(directory.Length == 0 ? name : directory + "/" + name);
                }
            }
        }
    }
}
