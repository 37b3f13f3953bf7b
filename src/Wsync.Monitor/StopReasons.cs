namespace Wsync.Monitor;

/// <summary>
/// Why a workspace stopped sending, in the words Get-WsyncWorkspace shows (StateReason) and the log keeps: one
/// place for each, so the watcher, the safety stop and the monitor say the same thing the same way.
/// </summary>
internal static class StopReasons
{
    /// <summary>The root went away while watched (the watcher saw it) or before a batch (the safety stop did).</summary>
    public static string RootMissing(string root, string? destination = null) =>
        $"The workspace root {root} is missing (deleted, moved or unmounted); mirroring stopped so that nothing is deleted on " +
        $"{destination ?? "any remote"}. Restore it, then Resume-WsyncWorkspace.";

    /// <summary>The root is empty while a remote is not: emptied by mistake, or on purpose.</summary>
    public static string RootEmpty(string root, string destination) =>
        $"The workspace root {root} is empty but {destination} is not; mirroring stopped so that nothing is deleted there. " +
        "If the root was emptied by mistake (an unmounted disk, a failed checkout), restore its content, then Resume-WsyncWorkspace; " +
        "if you meant to empty it, Resume-WsyncWorkspace mirrors the empty root to every remote.";

    /// <summary>At the monitor's start the root is not there (Waiting).</summary>
    public static string WaitingForRoot(string root) =>
        $"The workspace root {root} does not exist (a disk not mounted yet?): nothing is sent, and mirroring starts by itself once it is there.";

    /// <summary>At the monitor's start the root is empty while a remote is not (Waiting).</summary>
    public static string WaitingForEntries(string root) =>
        $"The workspace root {root} is empty but a remote is not (a disk not mounted yet?): nothing is sent, and mirroring starts by itself " +
        "once the root has entries. If you meant to empty it, Resume-WsyncWorkspace mirrors the empty root to every remote.";
}
