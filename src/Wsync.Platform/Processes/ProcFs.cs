using System.Globalization;

namespace Wsync.Platform;

/// <summary>What /proc/PID/stat says of a process: the fields wsync decides on.</summary>
/// <param name="State">R running, S and D waiting, T stopped, Z a zombie (exited, not yet reaped), X dead.</param>
public readonly record struct ProcessStat(char State, int ParentId, int GroupId)
{
    /// <summary>Running or able to run: not a zombie and not dead.</summary>
    public bool IsAlive => State is not ('Z' or 'X');
}

/// <summary>
/// The one reader of /proc: process states, parents and command lines, this process's open descriptors,
/// and kernel settings (/proc/sys). Everything here tolerates a process that exits while it is read.
/// </summary>
public static class ProcFs
{
    /// <summary>The pids of every process now.</summary>
    public static IEnumerable<int> ProcessIds()
    {
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>The process's state, parent and group; null when it is gone.</summary>
    public static ProcessStat? Stat(int pid)
    {
        var stat = ReadOrNull($"/proc/{pid}/stat");
        if (stat is null)
        {
            return null;
        }

        // After the command name, which is in parentheses and may hold any byte: state, ppid, pgrp, ...
        var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 2
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
            && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var group)
            ? new ProcessStat(fields[0][0], parent, group)
            : null;
    }

    /// <summary>True while <paramref name="pid"/> runs (a zombie has exited).</summary>
    public static bool IsAlive(int pid) => Stat(pid) is { IsAlive: true };

    /// <summary>The argument vector of a process; empty when it is gone.</summary>
    public static IReadOnlyList<string> CommandLine(int pid) =>
        ReadOrNull($"/proc/{pid}/cmdline")?.Split('\0', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>The processes below <paramref name="root"/>, parents before their children.</summary>
    public static IReadOnlyList<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in ProcessIds())
        {
            if (Stat(pid) is { } stat)
            {
                if (!children.TryGetValue(stat.ParentId, out var list))
                {
                    children[stat.ParentId] = list = [];
                }

                list.Add(pid);
            }
        }

        var found = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                found.Add(child);
                pending.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>This process's open file descriptors.</summary>
    public static IEnumerable<int> OpenDescriptors()
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
            {
                yield return fd;
            }
        }
    }

    /// <summary>What one of this process's descriptors refers to ("pipe:[1234]", a path), or null.</summary>
    public static string? DescriptorTarget(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The inotify instances and watches held by the processes of user <paramref name="uid"/>: what
    /// fs.inotify.max_user_instances and max_user_watches count. Reads /proc (an inotify descriptor's fdinfo has
    /// a line per watch); processes that end or cannot be read meanwhile are left out.
    /// </summary>
    public static (int Instances, long Watches) InotifyUsage(uint uid)
    {
        var (instances, watches) = (0, 0L);
        foreach (var pid in ProcessIds())
        {
            try
            {
                if (Posix.Status($"/proc/{pid}").Owner != uid)
                {
                    continue;
                }

                foreach (var descriptor in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    if (new FileInfo(descriptor).LinkTarget == "anon_inode:inotify")
                    {
                        instances++;
                        watches += File.ReadLines($"/proc/{pid}/fdinfo/{Path.GetFileName(descriptor)}").Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
        }

        return (instances, watches);
    }

    /// <summary>A kernel setting, e.g. "fs/inotify/max_user_watches"; null when this kernel has none.</summary>
    public static long? Setting(string name) =>
        long.TryParse(ReadOrNull($"/proc/sys/{name}")?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
