namespace Wsync.Daemon;

/// <summary>How the daemon's supervision of one monitor stands.</summary>
internal enum SupervisionState
{
    /// <summary>Starting a monitor process, or waiting for it to take its configuration.</summary>
    Starting,

    /// <summary>The monitor runs and has taken its configuration.</summary>
    Running,

    /// <summary>The monitor exited unasked; waiting out the backoff before the next start.</summary>
    Restarting,

    /// <summary>Crashed too often within the window; left stopped until Resume-WsyncWorkspace.</summary>
    Failed,

    /// <summary>Stopped on purpose (workspace removed, daemon stopping).</summary>
    Stopped,
}

/// <summary>Tuning of monitor supervision.</summary>
internal sealed record SupervisionPolicy
{
    /// <summary>Crashes within <see cref="CrashWindow"/> after which a monitor is left stopped (State=Failed); see <see cref="CrashBudget"/>.</summary>
    public int CrashThreshold { get; init; } = 5;

    public TimeSpan CrashWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The delay before a restart, by recent crashes.</summary>
    public Backoff Restart { get; init; } = Backoff.MonitorRestart;

    /// <summary>Thirty seconds: a ping is answered by the RPC layer at once even mid-transfer, so silence that long means a stopped or wedged process.</summary>
    public static readonly TimeSpan DefaultHeartbeatTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Every 60 s: a wedged monitor is found within interval + timeout (90 s). A ping costs about a millisecond
    /// of CPU across the two processes (JSON-RPC and the thread pools' wake-ups); every 15 s, 50 idle workspaces
    /// used 0.5 CPU-seconds a minute (the benchmark's scenario 13), every 3 s one used 0.12.
    /// </summary>
    public static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(60);

    /// <summary>How long a monitor has to answer a ping before it is killed and counted as a crash.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = DefaultHeartbeatTimeout;

    /// <summary>The pause between pings: the default, or half a shortened timeout so a test need not wait the default.</summary>
    public TimeSpan HeartbeatInterval => HeartbeatTimeout < DefaultHeartbeatTimeout ? HeartbeatTimeout / 2 : DefaultHeartbeatInterval;
}

/// <summary>
/// How many times a monitor may stop unasked: past <see cref="SupervisionPolicy.CrashThreshold"/> crashes within
/// <see cref="SupervisionPolicy.CrashWindow"/> it is left stopped (Failed) until Resume-WsyncWorkspace spends none.
/// Not thread-safe: its handle uses it under its own lock.
/// </summary>
internal sealed class CrashBudget(SupervisionPolicy policy, TimeProvider time)
{
    /// <summary>Times of recent unasked exits, oldest first, none older than the crash window.</summary>
    private readonly Queue<DateTimeOffset> crashes = new();

    /// <summary>Crashes within the window, counting the last one recorded.</summary>
    public int Recent => crashes.Count;

    /// <summary>Records a crash; true when the budget is spent and the monitor is to be left stopped.</summary>
    public bool Spend()
    {
        var now = time.GetUtcNow();
        crashes.Enqueue(now);
        while (crashes.Count > 0 && now - crashes.Peek() > policy.CrashWindow)
        {
            crashes.Dequeue();
        }

        return crashes.Count >= policy.CrashThreshold;
    }

    /// <summary>Resume-WsyncWorkspace: the monitor starts again with its whole budget.</summary>
    public void Reset() => crashes.Clear();
}
