namespace Wsync.Platform;

/// <summary>
/// Which directory each inotify watch stands for, relative to the root, and back. A watch follows its
/// directory's inode: a rename keeps it, only the names change. Used by the watcher's thread alone (and by
/// Start before that thread runs).
/// </summary>
public sealed class WatchTable
{
    /// <summary>Watch descriptor → directory relative to the root.</summary>
    private readonly Dictionary<int, string> directories = [];

    /// <summary>The inverse of <see cref="directories"/>.</summary>
    private readonly Dictionary<string, int> watches = new(StringComparer.Ordinal);

    /// <summary>Directories watched now.</summary>
    public int Count => directories.Count;

    public bool TryGetDirectory(int wd, out string directory) => directories.TryGetValue(wd, out directory!);

    /// <summary>
    /// Records that <paramref name="wd"/> watches <paramref name="directory"/>. A descriptor the kernel handed out
    /// again for a directory already watched under another name (a rename seen late) is remapped.
    /// </summary>
    public void Set(int wd, string directory)
    {
        if (directories.TryGetValue(wd, out var previous))
        {
            if (previous == directory)
            {
                return;
            }

            watches.Remove(previous);
        }

        directories[wd] = directory;
        watches[directory] = wd;
    }

    /// <summary>The watch is gone (IN_IGNORED): forgets it, and its name if the name is still its own.</summary>
    public void Forget(int wd)
    {
        if (directories.Remove(wd, out var directory) && watches.TryGetValue(directory, out var mapped) && mapped == wd)
        {
            watches.Remove(directory);
        }
    }

    /// <summary>Forgets <paramref name="path"/> and every directory below it; returns their descriptors.</summary>
    public List<int> ForgetTree(string path)
    {
        var forgotten = new List<int>();
        foreach (var (directory, wd) in Below(path))
        {
            watches.Remove(directory);
            directories.Remove(wd);
            forgotten.Add(wd);
        }

        return forgotten;
    }

    /// <summary>A directory moved inside the workspace: the names of it and of everything below change.</summary>
    public void RenameTree(string from, string to)
    {
        foreach (var (directory, wd) in Below(from))
        {
            var renamed = to + directory[from.Length..];
            watches.Remove(directory);
            watches[renamed] = wd;
            directories[wd] = renamed;
        }
    }

    private List<(string Directory, int Watch)> Below(string path) =>
        [.. watches.Where(w => w.Key == path || w.Key.StartsWith(path + "/", StringComparison.Ordinal)).Select(w => (w.Key, w.Value))];
}
