namespace Wsync.Monitor.Sync;

/// <summary>When a remote's loop tries again after a send or a connection that failed.</summary>
internal enum Retry
{
    /// <summary>At once, as a full reconcile: the remote refused an incremental batch's list (a path changed type while it was read).</summary>
    FullReconcileNow,

    /// <summary>After <see cref="Backoff.RemoteRetry"/>: the cause may pass by itself (a network cut) or once someone fixes it (a full disk).</summary>
    Backoff,

    /// <summary>After <see cref="RemotePolicy.SlowRetry"/>: it needs a person (a refused key, a changed host key, an unusable rsync), but recovers once fixed.</summary>
    Slowly,
}

/// <summary>What a remote's loop does after a failure: the state it reports (null: keep it), whether it drops the connection, when it tries again.</summary>
internal readonly record struct Reaction(RemoteState? State, bool Reconnect, Retry Retry);

/// <summary>
/// A remote loop's policy as data: how it reacts to each outcome, which state changes are routine, and how
/// long it waits. The loop (<see cref="RemoteLoop"/>) only looks things up here; unit tests drive it against a
/// fake transport and clock.
/// </summary>
internal static class RemotePolicy
{
    /// <summary>Between retries of a failure that will not pass by itself: slow, but it recovers once fixed.</summary>
    public static readonly TimeSpan SlowRetry = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest wait for the other remotes' sends to finish before preparing anyway: a remote whose send hangs
    /// (a cut connection, until rsync's timeout) must not keep the others from preparing.
    /// </summary>
    public static readonly TimeSpan PreparationDeferralCap = TimeSpan.FromMilliseconds(100);

    /// <summary>After a send that did not succeed, by its outcome and whether it was a full reconcile.</summary>
    public static readonly IReadOnlyDictionary<(SendOutcome Outcome, bool FullReconcile), Reaction> AfterSend = new Dictionary<(SendOutcome, bool), Reaction>
    {
        [(SendOutcome.Partial, false)] = new(RemoteState.Retrying, Reconnect: false, Retry.Backoff),
        [(SendOutcome.Partial, true)] = new(RemoteState.Retrying, Reconnect: false, Retry.Backoff),
        [(SendOutcome.Transient, false)] = new(RemoteState.Retrying, Reconnect: true, Retry.Backoff),
        [(SendOutcome.Transient, true)] = new(RemoteState.Retrying, Reconnect: true, Retry.Backoff),
        [(SendOutcome.Refused, false)] = new(State: null, Reconnect: false, Retry.FullReconcileNow),
        [(SendOutcome.Refused, true)] = new(RemoteState.Failed, Reconnect: false, Retry.Slowly),
    };

    /// <summary>After a connection that failed, by whether waiting can help (<see cref="EndpointException.Permanent"/>).</summary>
    public static readonly IReadOnlyDictionary<bool, Reaction> AfterConnectionFailure = new Dictionary<bool, Reaction>
    {
        [false] = new(RemoteState.Retrying, Reconnect: false, Retry.Backoff),
        [true] = new(RemoteState.Failed, Reconnect: false, Retry.Slowly),
    };

    /// <summary>After an exception nothing else expected (a bug): reported, and retried like a passing failure.</summary>
    public static readonly Reaction AfterFault = new(RemoteState.Retrying, Reconnect: false, Retry.Backoff);

    /// <summary>
    /// State changes not reported as <see cref="SyncEventKind.RemoteStateChanged"/>: every batch goes
    /// InSync → Syncing → InSync, and its <see cref="SyncEventKind.BatchSent"/> says so once, with numbers.
    /// </summary>
    public static readonly IReadOnlySet<(RemoteState From, RemoteState To)> RoutineTransitions = new HashSet<(RemoteState, RemoteState)>
    {
        (RemoteState.InSync, RemoteState.Syncing),
        (RemoteState.Syncing, RemoteState.InSync),
    };

    /// <summary>How long to wait before trying again, after <paramref name="failures"/> failures in a row.</summary>
    public static TimeSpan Delay(Retry retry, int failures) => retry switch
    {
        Retry.FullReconcileNow => TimeSpan.Zero,
        Retry.Backoff => Backoff.RemoteRetry.After(failures),
        _ => SlowRetry,
    };
}
