using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Bench;

/// <summary>
/// A cheap summary of a tree (names and sizes, stat only), polled until a remote matches; a full comparison
/// confirms. Names count: after a rename the counts and sizes are the same before and after.
/// </summary>
internal readonly record struct TreeSignature(long Files, long Directories, long Bytes, long Names)
{
    /// <summary>The timestamp of a look that found the trees equal, or null (also when a tree changed under the look).</summary>
    private static long? Matches(string local, string remote, TreeSignature expected, Func<string, bool>? ignore)
    {
        try
        {
            if (Of(remote) != expected)
            {
                return null;
            }

            // The end of the walk that matched: the comparison below only confirms (it reads every byte).
            var landed = Stopwatch.GetTimestamp();
            return TreeSnapshot.Compare(local, remote, ignore).Count == 0 ? landed : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null; // a directory renamed or removed while walking: look again
        }
    }

    public static TreeSignature Of(string root)
    {
        if (!Directory.Exists(root))
        {
            return default;
        }

        long files = 0, directories = 0, bytes = 0, names = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", options))
        {
            // Order-independent: the sum of the relative paths' hashes (string hashes are stable within a process).
            names += Path.GetRelativePath(root, entry.FullName).GetHashCode(StringComparison.Ordinal);
            if (entry is FileInfo file)
            {
                files++;
                bytes += file.Length;
            }
            else
            {
                directories++;
            }
        }

        return new TreeSignature(files, directories, bytes, names);
    }

    /// <summary>
    /// Polls <paramref name="remote"/> until it equals <paramref name="local"/> (content, modes, links) and
    /// returns the Stopwatch timestamp at the end of the first matching look: an upper bound of the landing
    /// time, within one walk of the tree. <paramref name="ignore"/> skips bench bookkeeping files.
    /// </summary>
    public static long WaitMirrored(string local, string remote, TimeSpan timeout, Func<string, bool>? ignore = null)
    {
        var expected = Of(local);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Matches(local, remote, expected, ignore) is { } landed)
            {
                return landed;
            }

            if (clock.Elapsed > timeout)
            {
                var differences = TreeSnapshot.Compare(local, remote, ignore);
                throw new TimeoutException($"{remote} did not match {local} within {timeout.TotalSeconds:0} s: {string.Join("; ", differences.Take(5))}");
            }

            Thread.Sleep(10);
        }
    }
}
