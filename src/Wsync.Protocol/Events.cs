namespace Wsync;

/// <summary>What a <see cref="SyncEvent"/> reports. Watch-WsyncWorkspace streams them.</summary>
public enum SyncEventKind
{
    /// <summary>A remote finished a batch (or a full reconcile): Files, Bytes, Paths and Duration say how much.</summary>
    BatchSent,

    /// <summary>A remote moved between states (OldState → NewState); Message holds its LastError, if any.
    /// The routine InSync ⇄ Syncing of every batch is not reported: BatchSent is.</summary>
    RemoteStateChanged,

    /// <summary>A workspace moved between states (OldState → NewState), Message says why (Halted, Failed, Suspended).</summary>
    WorkspaceStateChanged,

    /// <summary>Sending to a remote failed; Message says why. Reported once per distinct error, not per retry.</summary>
    Error,

    /// <summary>The workspace's monitor process ended without being asked to; Message says how, and what comes next.</summary>
    MonitorExited,

    /// <summary>The daemon started the workspace's monitor again after it ended without being asked to.</summary>
    MonitorRestarted,

    /// <summary>Add-WsyncWorkspace added the workspace.</summary>
    WorkspaceAdded,

    /// <summary>Remove-WsyncWorkspace removed the workspace.</summary>
    WorkspaceRemoved,

    /// <summary>Connect-WsyncRemote attached the remote.</summary>
    RemoteConnected,

    /// <summary>Disconnect-WsyncRemote detached the remote.</summary>
    RemoteDisconnected,

    /// <summary>The watcher fell behind and Dropped events were left out (never the daemon's or a monitor's problem).</summary>
    EventsDropped,

    /// <summary>Something other than wsync changed a mirrored path on a remote; Message names it and says whether it was undone.</summary>
    Drift,
}

/// <summary>
/// One thing that happened to a workspace or remote, as Watch-WsyncWorkspace writes it. Which fields
/// are set depends on <see cref="Kind"/>; the others keep their defaults.
/// </summary>
public sealed record SyncEvent
{
    public required DateTimeOffset Time { get; init; }

    public required SyncEventKind Kind { get; init; }

    /// <summary>The workspace's name; null only for <see cref="SyncEventKind.EventsDropped"/>.</summary>
    public string? Workspace { get; init; }

    public Guid WorkspaceId { get; init; }

    /// <summary>The remote's name, for events about one remote; null otherwise.</summary>
    public string? Remote { get; init; }

    public Guid? RemoteId { get; init; }

    /// <summary>Files rsync transferred in the batch (a deletion transfers none).</summary>
    public long Files { get; init; }

    /// <summary>Bytes rsync sent for the batch, protocol overhead included.</summary>
    public long Bytes { get; init; }

    /// <summary>Paths listed in the batch; 0 for a full reconcile, which lists none.</summary>
    public long Paths { get; init; }

    /// <summary>How long the batch took to send.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The state before a change: a remote's or a workspace's (see <see cref="SyncState"/>).</summary>
    public SyncState? OldState { get; init; }

    /// <summary>The state after a change: a remote's or a workspace's (see <see cref="SyncState"/>).</summary>
    public SyncState? NewState { get; init; }

    /// <summary>How many events were left out, for <see cref="SyncEventKind.EventsDropped"/>.</summary>
    public long Dropped { get; init; }

    /// <summary>The error, the reason for a state, or what happened, in words.</summary>
    public string? Message { get; init; }
}

/// <summary>
/// A state in a <see cref="SyncEvent"/>: every <see cref="RemoteState"/> and every <see cref="WorkspaceState"/>,
/// by the same names, since one event field holds either. In PowerShell it compares with a string
/// (<c>Where-Object NewState -eq InSync</c>).
/// </summary>
public enum SyncState
{
    Starting,
    Watching,
    Suspended,
    Failed,
    Halted,
    Stopped,
    Waiting,
    Connecting,
    InitialSync,
    InSync,
    Syncing,
    Retrying,
}

/// <summary>The <see cref="SyncState"/> of a remote's or a workspace's state: the same name.</summary>
public static class SyncStates
{
    public static SyncState Of(RemoteState state) => Enum.Parse<SyncState>(state.ToString());

    public static SyncState Of(WorkspaceState state) => Enum.Parse<SyncState>(state.ToString());
}

/// <summary>What <see cref="IWsyncDaemon.WatchAsync"/> streams.</summary>
public sealed record WatchRequest
{
    /// <summary>The workspaces to watch, by exact name; null for every workspace, including ones added later.</summary>
    public IReadOnlyList<string>? Workspaces { get; init; }
}
