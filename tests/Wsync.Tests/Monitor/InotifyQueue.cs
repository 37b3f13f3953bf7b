using System.Globalization;

namespace Wsync.Tests.Monitor;

/// <summary>
/// fs.inotify.max_queued_events, lowered while a monitor starts so that its inotify instance overflows for
/// certain (the limit is read when an instance is created). The watcher drains the default 16,384 faster
/// than one writer fills it, so only a small queue makes an overflow certain. Root only; one test at a time.
/// </summary>
internal static class InotifyQueue
{
    private const string Limit = "/proc/sys/fs/inotify/max_queued_events";

    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public static bool CanLower => Environment.UserName == "root";

    public static int Current => int.Parse(File.ReadAllText(Limit).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Runs <paramref name="starting"/> (which starts the monitor) with the limit at <paramref name="limit"/> when allowed; restores it after.</summary>
    public static async Task WhileLoweredAsync(int limit, Func<Task> starting)
    {
        if (!CanLower)
        {
            await starting();
            return;
        }

        await OneAtATime.WaitAsync();
        var original = File.ReadAllText(Limit).Trim();
        try
        {
            File.WriteAllText(Limit, limit.ToString(CultureInfo.InvariantCulture));
            await starting();
        }
        finally
        {
            File.WriteAllText(Limit, original);
            OneAtATime.Release();
        }
    }
}
