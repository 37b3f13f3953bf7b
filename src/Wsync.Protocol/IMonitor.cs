namespace Wsync;

/// <summary>
/// The monitor's JSON-RPC surface, spoken by the daemon over the monitor's stdin and stdout.
/// One monitor mirrors one workspace to all of its remotes.
/// </summary>
public interface IMonitor
{
    /// <summary>Gives the monitor its workspace, and again whenever remotes, options or Suspended change.</summary>
    Task ConfigureAsync(WorkspaceDefinition workspace, CancellationToken cancellationToken);

    /// <summary>
    /// Checks an ssh destination before the daemon stores <paramref name="remote"/> (as <c>wsync-monitor --probe</c>
    /// does): a failure, or the names at the destination's top level. The connection it opened is kept for the
    /// remote's loop if the remote is configured soon after, so attaching connects once.
    /// </summary>
    Task<ProbeResult> ProbeAsync(RemoteDefinition remote, CancellationToken cancellationToken);

    /// <summary>A full reconcile of every remote now; returns the status when it is done.</summary>
    Task<WorkspaceStatus> SyncAsync(IProgress<SyncProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Waits until every change seen before the call is on every remote, or the timeout passes.</summary>
    Task<FlushResult> FlushAsync(int timeoutMilliseconds, CancellationToken cancellationToken);

    /// <summary>Waits until <paramref name="remoteId"/> finished its initial sync (or failed trying).</summary>
    Task<RemoteStatus> WaitForInitialSyncAsync(Guid remoteId, IProgress<SyncProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Lifts a safety stop or watch-limit failure: re-checks the root, watches again, reconciles every remote.</summary>
    Task ResumeAsync(CancellationToken cancellationToken);

    /// <summary>The heartbeat: answers at once unless the monitor is wedged.</summary>
    Task<int> PingAsync(CancellationToken cancellationToken);

    /// <summary>Finishes the batch in flight, closes ssh connections and exits.</summary>
    Task ShutdownAsync(CancellationToken cancellationToken);
}

/// <summary>What the monitor calls on the daemon.</summary>
public interface IMonitorHost
{
    /// <summary>The monitor's whole status, sent whenever it changes (throttled).</summary>
    Task ReportStatusAsync(WorkspaceStatus status);

    /// <summary>
    /// Something that happened (a batch sent, a state changed, an error), sent as it happens, in order,
    /// unlike the throttled status. The daemon adds the workspace's name and hands it to its watchers.
    /// </summary>
    Task ReportEventAsync(SyncEvent syncEvent);
}

/// <summary>A monitor's live status: the workspace's state and each remote's.</summary>
public sealed record WorkspaceStatus
{
    public required Guid WorkspaceId { get; init; }

    public required WorkspaceState State { get; init; }

    public string? Reason { get; init; }

    /// <summary>Increases with every snapshot, so a late report never overwrites a newer one.</summary>
    public long Sequence { get; init; }

    /// <summary>Directories with an inotify watch.</summary>
    public int WatchedDirectories { get; init; }

    /// <summary>What may soon stop the workspace from being watched (the user's inotify watches nearly used up); null when nothing.</summary>
    public string? Warning { get; init; }

    public IReadOnlyList<RemoteStatus> Remotes { get; init; } = [];
}

public sealed record RemoteStatus
{
    public required Guid RemoteId { get; init; }

    public required RemoteState State { get; init; }

    public DateTimeOffset? LastSyncTime { get; init; }

    public long PendingChanges { get; init; }

    public long BytesSent { get; init; }

    public long FilesSent { get; init; }

    public string? LastError { get; init; }

    public SyncProgress? Progress { get; init; }

    public RemoteTransport Transport { get; init; } = RemoteTransport.Rsync;

    public string? TransportReason { get; init; }

    public long DriftCount { get; init; }

    public string? LastDrift { get; init; }
}

/// <summary>The outcome of <see cref="IMonitor.FlushAsync"/>.</summary>
public sealed record FlushResult
{
    public bool Completed { get; init; }

    /// <summary>The monitor's status when the flush ended.</summary>
    public WorkspaceStatus? Status { get; init; }

    /// <summary>The remotes still behind when the timeout passed, with their state and last error.</summary>
    public IReadOnlyList<RemoteStatus> Behind { get; init; } = [];
}
