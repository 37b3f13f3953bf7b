namespace Wsync;

/// <summary>
/// How wsyncd ends. The module's engine reads these when it starts a daemon, and the systemd unit lists the
/// ones restarting cannot help (RestartPreventExitStatus); documented in wsyncd's usage and about_wsync.
/// </summary>
public enum DaemonExit
{
    /// <summary>Stopped on request (Stop-WsyncDaemon, SIGTERM).</summary>
    Stopped = 0,

    Failed = 1,

    /// <summary>wsync.config or the workspace file is unusable; the message says where.</summary>
    ConfigurationUnusable = 2,

    /// <summary>Another daemon holds the home: a start raced with another one, which serves.</summary>
    AlreadyRunning = 3,

    /// <summary>The watchdog found the state poisoned or deadlocked; the next start reloads the workspace file.</summary>
    EndedByWatchdog = 4,

    /// <summary>A bad command line (EX_USAGE).</summary>
    Usage = 64,

    /// <summary>The launcher of the systemd unit found no wsync installed for this architecture (EX_NOINPUT).</summary>
    NotInstalled = 66,
}

/// <summary>How wsync-monitor ends, as the daemon's supervision reads it.</summary>
public enum MonitorExit
{
    /// <summary>Stopped on request, or its channel to the daemon closed.</summary>
    Stopped = 0,

    Failed = 1,

    /// <summary>A bad command line (EX_USAGE).</summary>
    Usage = 64,

    /// <summary>Another monitor of the workspace still holds its lock (EX_TEMPFAIL): restarted like a crash, after backoff.</summary>
    LockHeld = 75,
}
