namespace Wsync.Monitor.Sync;

/// <summary>What became of one send (a batch, or a full reconcile), whichever transport carried it.</summary>
internal enum SendOutcome
{
    /// <summary>Done: what was sent is right on the remote.</summary>
    Success,

    /// <summary>Some paths failed for a reason outside wsync (a full disk, a permission on the remote); passes once fixed.</summary>
    Partial,

    /// <summary>The connection or the remote end failed (a network cut, a killed process): reconnect and try again.</summary>
    Transient,

    /// <summary>The remote refused the request itself (usage, protocol): waiting alone will not help.</summary>
    Refused,
}

/// <summary>One send's outcome, its size, and in words what happened (for LastError and the log).</summary>
internal sealed record SendResult(SendOutcome Outcome, long BytesSent, long FilesTransferred, string Description);

/// <summary>What carries a remote's changes now, and why not the agent when it is not (for the remote object).</summary>
internal sealed record TransportStatus(RemoteTransport Kind, string? Reason);

/// <summary>
/// How one remote's changes reach it: the seam between a remote's loop (<see cref="RemoteLoop"/>: what to
/// send and when, its state, retries and waiters) and the way the bytes travel. rsync is one transport
/// (<see cref="RsyncTransport"/>); another sits behind the same interface, and the loop's policy is tested
/// against a fake. A transport is used by its loop's task alone.
/// </summary>
internal interface ITransport : IAsyncDisposable
{
    /// <summary>Whether the destination is reachable now (the ssh master is up, the directory is there).</summary>
    bool IsConnected { get; }

    /// <summary>What carries changes now; read from other threads (an immutable record, replaced whole).</summary>
    TransportStatus Current { get; }

    /// <summary>
    /// True when <see cref="PrepareAsync"/> has work to do: the loop defers it until no other remote of the
    /// workspace is sending, since preparing costs CPU the busy ones need.
    /// </summary>
    bool WantsPreparation { get; }

    /// <summary>Makes the destination usable.</summary>
    /// <exception cref="EndpointException">It cannot be reached; <see cref="EndpointException.Permanent"/> says whether waiting helps.</exception>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Forgets the connection after a transport failure: the next send reconnects.</summary>
    Task InvalidateAsync();

    /// <summary>Sends a batch of changes: its renames in order, then every path it lists, as the workspace has it now.</summary>
    Task<SendResult> SendAsync(Batch batch, CancellationToken cancellationToken);

    /// <summary>Makes the remote an exact mirror of the whole workspace, reporting its progress as it goes.</summary>
    Task<SendResult> ReconcileAsync(Action<SyncProgress> progress, CancellationToken cancellationToken);

    /// <summary>Whether the mirror's root holds any entry (the safety stop asks before mirroring an empty workspace).</summary>
    /// <exception cref="EndpointException">The destination could not be listed.</exception>
    Task<bool> HasEntriesAsync(CancellationToken cancellationToken);

    /// <summary>Work done while idle that makes the next batch fast; see <see cref="WantsPreparation"/>.</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Another rsync (the <see cref="BulkLane"/>'s) starts or stopped writing to the remote: whoever watches the
    /// remote for drift holds its reports meanwhile (they would name rsync's temporary files). Calls pair up.
    /// </summary>
    Task HoldDriftAsync(bool held, CancellationToken cancellationToken);
}
