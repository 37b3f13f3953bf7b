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

    /// <summary>
    /// Reads <paramref name="root"/> by bytes (<see cref="RawFiles"/>: a name need not be UTF-8); paths matching
    /// <paramref name="ignore"/> (relative, '/'-separated) are left out.
    /// </summary>
    public static TreeSnapshot Capture(string root, Func<string, bool>? ignore = null)
    {
        var entries = new SortedDictionary<string, TreeEntry>(StringComparer.Ordinal);
        var pending = new Stack<string>([""]);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            foreach (var name in RawFiles.List(directory.Length == 0 ? root : Path.Combine(root, directory)))
            {
                var relative = directory.Length == 0 ? name : directory + "/" + name;
                if (ignore?.Invoke(relative) == true)
                {
                    continue;
                }

                var full = Path.Combine(root, relative);
                if (RawFiles.Status(full) is not { } status)
                {
                    continue; // gone while we looked
                }

                switch (status.Kind)
                {
                    case 'l':
                        entries[relative] = new TreeEntry("link", 0, 0, RawFiles.ReadLink(full));
                        break;
                    case 'd':
                        entries[relative] = new TreeEntry("dir", status.Mode, 0, "");
                        pending.Push(relative);
                        break;
                    case 'f':
                        using (var stream = RawFiles.OpenRead(full))
                        {
                            entries[relative] = new TreeEntry("file", status.Mode, status.Size, Convert.ToHexString(SHA256.HashData(stream)));
                        }

                        break;
                    default:
                        entries[relative] = new TreeEntry("other", status.Mode, 0, "");
                        break;
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

    private static string Show(string path) => RawFiles.Show(path);

    private static string Short(string content) => content.Length > 12 ? content[..12] : content;
}
