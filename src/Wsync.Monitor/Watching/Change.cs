namespace Wsync.Monitor.Watching;

internal enum ChangeKind
{
    /// <summary>A path whose content, metadata or existence changed: rsync makes it right (or deletes it).</summary>
    Path,

    /// <summary>A directory whose whole subtree must be checked: created, moved in from outside, or changed itself.</summary>
    Tree,

    /// <summary>A rename inside the workspace: <see cref="Change.Source"/> became <see cref="Change.Path"/>.</summary>
    Move,
}

/// <summary>One change the watcher saw, relative to the workspace root ("" is the root).</summary>
internal readonly record struct Change(ChangeKind Kind, string Path, string? Source = null, bool IsDirectory = false)
{
    public static Change OfPath(string path) => new(ChangeKind.Path, path);

    public static Change OfTree(string path) => new(ChangeKind.Tree, path, IsDirectory: true);

    public static Change OfMove(string from, string to, bool isDirectory) => new(ChangeKind.Move, to, from, isDirectory);
}

/// <summary>Where the watcher reports. Called on the watcher's thread; implementations must not block long.</summary>
internal interface IWatchSink
{
    void OnChanges(IReadOnlyList<Change> changes);

    /// <summary>Events were lost (queue overflow, unknown watch): only a full reconcile is safe.</summary>
    void OnRescanNeeded(string reason);

    /// <summary>The root itself was deleted, moved or unmounted; <paramref name="reason"/> says so, for StateReason.</summary>
    void OnRootLost(string reason);

    /// <summary>inotify_add_watch failed with ENOSPC; the message names the sysctl and the value needed.</summary>
    void OnWatchLimit(string message);

    /// <summary>The user's inotify watches or instances are nearly used up (not yet): the message says how many of which limit.</summary>
    void OnWatchLimitNear(string message);
}
