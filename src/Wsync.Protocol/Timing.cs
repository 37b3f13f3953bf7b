namespace Wsync;

/// <summary>Capped exponential backoff: how long to wait after a number of consecutive failures.</summary>
/// <param name="First">The delay after the first failure; it doubles with each one after.</param>
/// <param name="Max">The longest delay.</param>
public sealed record Backoff(TimeSpan First, TimeSpan Max)
{
    /// <summary>A remote's batch that failed for a reason that may pass (a network cut): retried soon, then every 30 s.</summary>
    public static readonly Backoff RemoteRetry = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30));

    /// <summary>
    /// An agent that could not start, or whose session ended: rsync carries every change meanwhile, so there is
    /// no hurry; a host where it can never run is asked again only every few minutes.
    /// </summary>
    public static readonly Backoff AgentRestart = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>
    /// A bulk lane transfer that failed: its trees and large files go with their batches meanwhile (as without a
    /// lane), so nothing waits for the lane; it is tried again soon, then every few minutes.
    /// </summary>
    public static readonly Backoff BulkLaneRetry = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>A monitor that exited unasked: restarted at once, then more slowly, until the crash threshold.</summary>
    public static readonly Backoff MonitorRestart = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));

    /// <summary>A workspace root missing at the monitor's start (a disk mounted later): looked for again until it is there.</summary>
    public static readonly Backoff RootCheck = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>The delay after <paramref name="failures"/> consecutive failures (zero for none).</summary>
    public TimeSpan After(int failures) =>
        failures <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min(Max.Ticks, First.Ticks << Math.Min(failures - 1, 30)));
}

/// <summary>
/// How long each part of wsync waits for another to stop before it stops waiting (and kills, or leaves),
/// in one place because they nest: a monitor's remotes get <see cref="RemoteLoops"/> of the <see cref="Monitor"/>
/// the daemon gives the monitor, and systemd gives the daemon more than both (the unit's TimeoutStopSec).
/// </summary>
public static class StopGraces
{
    /// <summary>A stopping monitor lets each remote finish the batch in flight and log out.</summary>
    public static readonly TimeSpan RemoteLoops = TimeSpan.FromSeconds(3);

    /// <summary>The daemon waits this long for a monitor told to shut down: longer than <see cref="RemoteLoops"/>.</summary>
    public static readonly TimeSpan Monitor = TimeSpan.FromSeconds(5);

    /// <summary>Once its channel is closed (end of input, its cue to exit), a monitor that is still there is killed after this.</summary>
    public static readonly TimeSpan MonitorExit = TimeSpan.FromSeconds(2);

    /// <summary>A monitor that finished its shutdown waits this long for the daemon to close the channel, then exits anyway.</summary>
    public static readonly TimeSpan ChannelClose = TimeSpan.FromSeconds(2);

    /// <summary>An ssh master asked to exit (ssh -O exit) only sends one message and closes its connection.</summary>
    public static readonly TimeSpan SshMaster = TimeSpan.FromSeconds(2);

    /// <summary>Removing the self-test's scratch directory on a remote while its loop ends: over a cut link, ssh would wait 30 s.</summary>
    public static readonly TimeSpan RemoteScratch = TimeSpan.FromSeconds(5);

    /// <summary>An agent on a host whose input was closed (its cue to exit) gets this long before its ssh client is killed.</summary>
    public static readonly TimeSpan Agent = TimeSpan.FromSeconds(2);

    /// <summary>A leftover monitor a starting daemon killed is waited for this long.</summary>
    public static readonly TimeSpan LeftoverMonitor = TimeSpan.FromSeconds(5);
}
