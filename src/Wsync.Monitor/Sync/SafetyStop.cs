namespace Wsync.Monitor.Sync;

/// <summary>
/// The last check before one remote's batch: a workspace root that vanished, or that is empty while the
/// remote is not, must halt the workspace instead of becoming a mass deletion on the remote. Checked
/// before every batch (a full reconcile and an incremental batch alike: with -r, an incremental batch that
/// lists the root or a deletion of its last entry mirrors the emptiness too).
/// <code>
/// root         remote        acknowledged   →
/// missing      any           any            halt ("missing")
/// empty        has entries   no             halt ("empty")
/// empty        has entries   yes            send (once: Resume-WsyncWorkspace said "I meant it")
/// empty        empty         any            send
/// has entries  any           any            send
/// </code>
/// "Empty" means no entry at all, excluded ones included, on either side. A remote that cannot be listed is
/// not sent to: its <see cref="EndpointException"/> reaches the loop, which retries like any connection failure.
/// </summary>
internal sealed class SafetyStop(string root, Func<CancellationToken, Task<bool>> remoteHasEntries, string destination, Action<SafetyStop.Refusal, string> halt)
{
    /// <summary>Why a batch was not sent.</summary>
    public enum Refusal
    {
        RootMissing,
        RootEmpty,
    }

    /// <summary>
    /// 1 after Resume-WsyncWorkspace until the next check consumes it: that check lets an empty root through.
    /// Written by the monitor's lifecycle, read and cleared by the remote's loop (hence Interlocked).
    /// </summary>
    private int acknowledged;

    /// <summary>The user resumed the workspace: the next batch may mirror an empty root.</summary>
    public void Acknowledge() => Interlocked.Exchange(ref acknowledged, 1);

    /// <summary>True when the batch may go out; false when the workspace was halted instead.</summary>
    /// <exception cref="EndpointException">The remote could not be listed.</exception>
    public async Task<bool> AllowsAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(root))
        {
            halt(Refusal.RootMissing, StopReasons.RootMissing(root, destination));
            return false;
        }

        var consumed = Interlocked.Exchange(ref acknowledged, 0) == 1;
        if (consumed || HasEntries(root) || !await remoteHasEntries(cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        halt(Refusal.RootEmpty, StopReasons.RootEmpty(root, destination));
        return false;
    }

    private static bool HasEntries(string directory)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(directory).Any();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false; // vanished meanwhile: as empty as can be
        }
    }
}
