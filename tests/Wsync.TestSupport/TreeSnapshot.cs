using System.Security.Cryptography;

namespace Wsync.TestSupport;

/// <summary>One entry of a tree: what a mirror must reproduce exactly.</summary>
public readonly record struct TreeEntry(string Kind, UnixFileMode Mode, long Size, string Content);

/// <summary>
/// A directory tree as data: every entry's type, mode, size and content hash (or link target), by
/// relative path. Two snapshots equal means the mirror is exact: content, modes, symlink targets, no
/// extra entries.
/// </summary>
public sealed class TreeSnapshot
{
    private TreeSnapshot(SortedDictionary<string, TreeEntry> entries)
    {
        Entries = entries;
    }

    public IReadOnlyDictionary<string, TreeEntry> Entries { get; }

    /// <summary>Reads <paramref name="root"/>; paths matching <paramref name="ignore"/> (relative, '/'-separated) are left out.</summary>
    public static TreeSnapshot Capture(string root, Func<string, bool>? ignore = null)
    {
        var entries = new SortedDictionary<string, TreeEntry>(StringComparer.Ordinal);
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            foreach (var info in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                var relative = Path.GetRelativePath(root, info.FullName);
                if (ignore?.Invoke(relative) == true)
                {
                    continue;
                }

                if (info.LinkTarget is { } target)
                {
                    entries[relative] = new TreeEntry("link", 0, 0, target);
                    continue;
                }

                var mode = File.GetUnixFileMode(info.FullName);
                if (info is DirectoryInfo)
                {
                    entries[relative] = new TreeEntry("dir", mode, 0, "");
                    pending.Push(info.FullName);
                }
                else
                {
                    var file = (FileInfo)info;
                    using var stream = file.OpenRead();
                    entries[relative] = new TreeEntry("file", mode, file.Length, Convert.ToHexString(SHA256.HashData(stream)));
                }
            }
        }

        return new TreeSnapshot(entries);
    }

    /// <summary>Every difference between two trees, readable; empty when they are equal.</summary>
    public static IReadOnlyList<string> Compare(TreeSnapshot expected, TreeSnapshot actual)
    {
        var differences = new List<string>();
        foreach (var (path, entry) in expected.Entries)
        {
            if (!actual.Entries.TryGetValue(path, out var other))
            {
                differences.Add($"missing: {Show(path)} ({entry.Kind})");
            }
            else if (entry != other)
            {
                differences.Add($"differs: {Show(path)}: expected {entry.Kind} {Convert.ToString((int)entry.Mode, 8)} {entry.Size} {Short(entry.Content)}, " +
                    $"found {other.Kind} {Convert.ToString((int)other.Mode, 8)} {other.Size} {Short(other.Content)}");
            }
        }

        differences.AddRange(actual.Entries.Keys.Where(path => !expected.Entries.ContainsKey(path)).Select(path => $"extra: {Show(path)}"));
        return differences;
    }

    /// <summary>Compares two directories now.</summary>
    public static IReadOnlyList<string> Compare(string expectedRoot, string actualRoot, Func<string, bool>? ignore = null) =>
        Compare(Capture(expectedRoot, ignore), Capture(actualRoot, ignore));

    private static string Show(string path) => path.Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Short(string content) => content.Length > 12 ? content[..12] : content;
}
