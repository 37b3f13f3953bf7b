using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>What every transport does to a batch's paths before it sends them.</summary>
internal static class BatchPaths
{
    /// <summary>
    /// The entries a transport can reach: none below an entry that is not a directory any more, or whose parent is
    /// not one. A directory deleted with its contents, or replaced by a file or a link, is mirrored whole by its
    /// own entry (deleted, or replaced under --force; in this batch or the next); rsync would fail on a path
    /// below a file ("Not a directory", exit 23) and the batch would be retried for ever.
    /// </summary>
    public static List<(string Path, PendingKind Kind)> Reachable(string root, IReadOnlyList<(string Path, PendingKind Kind)> entries)
    {
        var cut = new HashSet<string>(StringComparer.Ordinal);
        var parents = new Dictionary<string, bool>(StringComparer.Ordinal);
        var reachable = new List<(string Path, PendingKind Kind)>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.Path.Length > 0 && (IsBelowAny(entry.Path, cut) || !ParentIsDirectory(entry.Path)))
            {
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
}
