using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Bench;

/// <summary>
/// Tells when a (loopback) remote tree equals a local one, driven by inotify on the remote instead of
/// polling it. Started before the change, so no event is missed; each event re-checks the one path it
/// names (its size), and once every expected file is there a full comparison confirms. Polling a
/// 10,000-file tree every 10 ms kept one of this machine's two cores walking it, the core the mirror
/// being measured needed, so a poller slows what it measures (more the faster the mirror goes).
/// </summary>
internal sealed class TreeLanding : IDisposable
{
    /// <summary>How long without an event before the paths still missing are looked at again (covers a lost event).</summary>
    private const int QuietRecheckMilliseconds = 20;

    /// <summary>rsync writes a temporary file and renames it into place: the rename (and a new directory) is what to look at.</summary>
    private const uint Mask = Native.InCreate | Native.InMovedTo;

    private readonly string remote;
    private readonly Inotify inotify = new(256 * 1024);

    /// <summary>Watch descriptor → the remote directory it watches.</summary>
    private readonly Dictionary<int, string> directories = [];

    private TreeLanding(string remote)
    {
        this.remote = remote;

        // The remote root may not exist yet: its parent announces it.
        Watch(Path.GetDirectoryName(remote)!);
    }

    /// <summary>Starts watching for <paramref name="remote"/> (which may not exist yet); call before making the change.</summary>
    public static TreeLanding Start(string remote) => new(remote);

    /// <summary>
    /// Waits until the remote equals <paramref name="local"/> (which must be complete when called) and returns
    /// the Stopwatch timestamp of the event that brought the last missing file; falls back to polling when
    /// the full comparison still finds a difference (a mode, or content in flight).
    /// </summary>
    public long WaitMirrored(string local, TimeSpan timeout, Func<string, bool>? ignore = null)
    {
        var clock = Stopwatch.StartNew();
        var expected = Sizes(local);
        var missing = new HashSet<string>(expected.Keys, StringComparer.Ordinal);
        Admit(remote, expected, missing);
        var landed = Stopwatch.GetTimestamp();
        while (missing.Count > 0)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{remote} did not match {local} within {timeout.TotalSeconds:0} s: {missing.Count:N0} files missing, e.g. {missing.First()}");
            }

            if (!Read(expected, missing, out landed))
            {
                foreach (var path in missing.ToList())
                {
                    Check(path, expected, missing);
                }

                landed = Stopwatch.GetTimestamp();
            }
        }

        return TreeSnapshot.Compare(local, remote, ignore).Count == 0
            ? landed
            : TreeSignature.WaitMirrored(local, remote, timeout - clock.Elapsed, ignore);
    }

    public void Dispose() => inotify.Dispose();

    /// <summary>Regular files below <paramref name="root"/> by relative path, with their sizes.</summary>
    private static Dictionary<string, long> Sizes(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        return new DirectoryInfo(root).EnumerateFiles("*", options)
            .ToDictionary(file => Path.GetRelativePath(root, file.FullName), file => file.Length, StringComparer.Ordinal);
    }

    /// <summary>Watches <paramref name="directory"/> and everything below it, then checks what is already there.</summary>
    private void Admit(string directory, Dictionary<string, long> expected, HashSet<string> missing)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        // The watch first, the listing second: a file landing between the two is in one or the other.
        Watch(directory);
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo)
            {
                Admit(entry.FullName, expected, missing);
            }
            else
            {
                Check(Path.GetRelativePath(remote, entry.FullName), expected, missing);
            }
        }
    }

    private void Watch(string directory) => directories[inotify.Watch(directory, Mask)] = directory;

    private void Check(string relative, Dictionary<string, long> expected, HashSet<string> missing)
    {
        if (expected.TryGetValue(relative, out var size) && new FileInfo(Path.Combine(remote, relative)) is { Exists: true } file && file.Length == size)
        {
            missing.Remove(relative);
        }
    }

    /// <summary>Handles the events of one read; false when none came within <see cref="QuietRecheckMilliseconds"/>.</summary>
    private bool Read(Dictionary<string, long> expected, HashSet<string> missing, out long read)
    {
        read = 0;
        if (!inotify.Wait(QuietRecheckMilliseconds))
        {
            return false;
        }

        read = Stopwatch.GetTimestamp();
        foreach (var (wd, mask, name) in inotify.Read())
        {
            if ((mask & Native.InQueueOverflow) != 0)
            {
                Admit(remote, expected, missing); // events were lost: look at everything again
                continue;
            }

            if (!directories.TryGetValue(wd, out var directory) || name.Length == 0)
            {
                continue;
            }

            var path = Path.Combine(directory, name);
            if ((mask & Native.InIsDirectory) != 0)
            {
                // A new directory (the root itself, or one below it) may already hold files.
                if (path == remote || path.StartsWith(remote + "/", StringComparison.Ordinal))
                {
                    Admit(path, expected, missing);
                }
            }
            else if (path.StartsWith(remote + "/", StringComparison.Ordinal))
            {
                Check(Path.GetRelativePath(remote, path), expected, missing);
            }
        }

        return true;
    }
}
