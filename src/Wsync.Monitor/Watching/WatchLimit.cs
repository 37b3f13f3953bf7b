using System.Globalization;
using Wsync.Platform;

namespace Wsync.Monitor.Watching;

/// <summary>What to tell a user whose workspace needs more inotify watches than fs.inotify.max_user_watches allows.</summary>
internal static class WatchLimit
{
    /// <summary>The message: how many directories the workspace has to watch, the limit, and the sysctl that raises it.</summary>
    public static string Explain(string root, PathFilter filter)
    {
        var limit = ProcFs.Setting("fs/inotify/max_user_watches");
        var needed = CountDirectories(root, filter);
        var suggestion = limit is { } current ? Math.Max(current * 2, current + needed) : needed * 2;
        var shown = limit?.ToString(CultureInfo.InvariantCulture) ?? "?";
        return $"inotify ran out of watches: the workspace has {needed} directories to watch and fs.inotify.max_user_watches ({shown}) is used up. " +
            $"Raise it (sudo sysctl fs.inotify.max_user_watches={suggestion}, and in /etc/sysctl.d/ to keep it), then Resume-WsyncWorkspace.";
    }

    /// <summary>The directories a watcher of <paramref name="root"/> would watch: every one not excluded, never through a symlink.</summary>
    private static long CountDirectories(string root, PathFilter filter)
    {
        long count = 0;
        var pending = new Stack<string>([""]);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            count++;
            foreach (var (name, kind) in Posix.ReadDirectory(directory.Length == 0 ? root : Path.Combine(root, directory)) ?? [])
            {
                var child = directory.Length == 0 ? name : directory + "/" + name;
                if (kind == FileKind.Directory && !filter.IsExcluded(child, isDirectory: true))
                {
                    pending.Push(child);
                }
            }
        }

        return count;
    }
}
