namespace Wsync;

/// <summary>Where a workspace stands. Transitions are made by the daemon's supervisor and the monitor.</summary>
public enum WorkspaceState
{
    /// <summary>The monitor is starting or has not reported yet.</summary>
    Starting,

    /// <summary>Watching; every remote is in sync or catching up.</summary>
    Watching,

    /// <summary>Mirroring paused by Suspend-WsyncWorkspace; changes are still recorded.</summary>
    Suspended,

    /// <summary>The monitor could not be kept running; see StateReason. Resume-WsyncWorkspace retries.</summary>
    Failed,

    /// <summary>Stopped for safety (the workspace root vanished or was emptied); see StateReason.</summary>
    Halted,

    /// <summary>No monitor runs (the daemon is stopping).</summary>
    Stopped,

    /// <summary>
    /// At its monitor's start the root was missing, or empty while a remote is not (a disk not mounted yet):
    /// checked again with backoff, mirroring starts by itself once it is there. See StateReason.
    /// </summary>
    Waiting,
}

/// <summary>Where one remote stands, as its monitor loop last reported.</summary>
public enum RemoteState
{
    /// <summary>Opening the connection (ssh master) or checking the destination.</summary>
    Connecting,

    /// <summary>Making the remote an exact mirror after attach or monitor start.</summary>
    InitialSync,

    /// <summary>Every change seen so far is on the remote.</summary>
    InSync,

    /// <summary>Sending a batch of changes.</summary>
    Syncing,

    /// <summary>The last attempt failed for a reason that may pass; retrying with backoff. See LastError.</summary>
    Retrying,

    /// <summary>Failed for a reason that will not pass by itself. See LastError.</summary>
    Failed,

    /// <summary>Paused with its workspace.</summary>
    Suspended,

    /// <summary>Not mirrored by any running monitor.</summary>
    Stopped,
}

/// <summary>
/// How a remote's changes travel. Asked for on Connect-WsyncRemote (-Transport; Agent unless said otherwise),
/// and shown on the remote: what carries its changes now.
/// </summary>
public enum RemoteTransport
{
    /// <summary>
    /// Asked for: small changes go to a wsync agent on the destination, over one session kept open; rsync
    /// carries trees, large files and full reconciles, and everything when the agent cannot run there.
    /// Shown: the agent is carrying changes now.
    /// </summary>
    Agent,

    /// <summary>Asked for: never run the agent; every change goes by rsync. Shown: rsync alone carries changes now (TransportReason says why).</summary>
    Rsync,
}

/// <summary>What is done when something other than wsync changes a mirrored path on a remote (drift; seen by the agent).</summary>
public enum DriftAction
{
    /// <summary>Report it and put the path back as the workspace has it: the remote stays an exact mirror.</summary>
    Undo,

    /// <summary>Report it only; the remote keeps the change until the path changes in the workspace or a full reconcile.</summary>
    Report,
}

public enum RemoteKind
{
    /// <summary>A directory on this machine (a disk, a mounted share).</summary>
    Local,

    /// <summary>A directory on another machine, reached with ssh.</summary>
    Ssh,
}

/// <summary>How far a full synchronisation has got.</summary>
public sealed record SyncProgress
{
    public string? Remote { get; init; }

    public long FilesDone { get; init; }

    public long FilesTotal { get; init; }

    public long BytesDone { get; init; }

    public long BytesTotal { get; init; }

    /// <summary>0 to 100, or -1 while the total is still unknown.</summary>
    public int Percent { get; init; } = -1;
}

/// <summary>A remote as the user sees it: its definition and its live status.</summary>
public sealed record Remote
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    /// <summary>The name of the workspace it mirrors (binds to -Workspace by property name).</summary>
    public required string Workspace { get; init; }

    public required Guid WorkspaceId { get; init; }

    /// <summary>The destination in canonical form: <c>/abs/path</c> or <c>[user@]host:path</c>.</summary>
    public required string Destination { get; init; }

    public required RemoteKind Kind { get; init; }

    public string? User { get; init; }

    public string? Host { get; init; }

    public int? Port { get; init; }

    /// <summary>The directory on the destination that mirrors the workspace root.</summary>
    public required string Path { get; init; }

    public string? IdentityFile { get; init; }

    public IReadOnlyList<string> SshOptions { get => sshOptions; init => sshOptions = new TextList<string>(value); }

    public RemoteState State { get; init; } = RemoteState.Stopped;

    public DateTimeOffset? LastSyncTime { get; init; }

    /// <summary>Changed paths seen but not yet confirmed on this remote.</summary>
    public long PendingChanges { get; init; }

    public long BytesSent { get; init; }

    public long FilesSent { get; init; }

    public string? LastError { get; init; }

    /// <summary>What carries this remote's small changes now.</summary>
    public RemoteTransport Transport { get; init; } = RemoteTransport.Rsync;

    /// <summary>Why <see cref="Transport"/> is Rsync (asked for, the agent could not start, its session ended); null while the agent carries changes.</summary>
    public string? TransportReason { get; init; }

    /// <summary>What is done when something other than wsync changes a mirrored path on this remote.</summary>
    public DriftAction DriftAction { get; init; }

    /// <summary>Mirrored paths changed on the remote by something other than wsync, since its monitor started.</summary>
    public long DriftCount { get; init; }

    /// <summary>The last such path (relative to the root), or null.</summary>
    public string? LastDrift { get; init; }

    public SyncProgress? Progress { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>Backs <see cref="SshOptions"/>: always a <see cref="TextList{T}"/>, so Export-Csv writes the options.</summary>
    private readonly TextList<string> sshOptions = TextList<string>.None;
}

/// <summary>A workspace as the user sees it: its definition, its remotes and its live status.</summary>
public sealed record Workspace
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required string Path { get; init; }

    public WorkspaceState State { get; init; } = WorkspaceState.Starting;

    /// <summary>Why the workspace is Failed, Halted or Suspended; null otherwise.</summary>
    public string? StateReason { get; init; }

    /// <summary>Its remotes; as text (Export-Csv, ToString) their names, comma separated.</summary>
    public IReadOnlyList<Remote> Remotes { get => remotes; init => remotes = new TextList<Remote>(value, r => r.Name); }

    /// <summary>Its -Exclude patterns; as text, comma separated.</summary>
    public IReadOnlyList<string> Exclude { get => exclude; init => exclude = new TextList<string>(value); }

    public bool UseGitIgnore { get; init; }

    public long PendingChanges { get; init; }

    /// <summary>The oldest of the remotes' last sync times: every remote is at least this fresh.</summary>
    public DateTimeOffset? LastSyncTime { get; init; }

    public int? MonitorProcessId { get; init; }

    /// <summary>Directories the monitor watches (excluded directories get no watch).</summary>
    public int WatchedDirectories { get; init; }

    /// <summary>What may soon stop the workspace from being watched (this user's inotify watches or instances nearly used up, and how to raise the limit); null when nothing.</summary>
    public string? Warning { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>Backs <see cref="Remotes"/>: always a <see cref="TextList{T}"/>.</summary>
    private readonly TextList<Remote> remotes = TextList<Remote>.None;

    /// <summary>Backs <see cref="Exclude"/>: always a <see cref="TextList{T}"/>.</summary>
    private readonly TextList<string> exclude = TextList<string>.None;
}

/// <summary>What Get-WsyncDaemon shows.</summary>
public sealed record DaemonInfo
{
    public required int ProcessId { get; init; }

    public required string Version { get; init; }

    public required int ProtocolVersion { get; init; }

    public required string SocketPath { get; init; }

    public required DateTimeOffset StartTime { get; init; }

    public required string Home { get; init; }

    public required string WorkspaceFilePath { get; init; }

    public required string LogDirectory { get; init; }

    public int WorkspaceCount { get; init; }

    public int MonitorCount { get; init; }

    /// <summary>Watch-WsyncWorkspace calls being served now (each has its own bounded event queue).</summary>
    public int WatcherCount { get; init; }

    /// <summary>False when no daemon runs (Get-WsyncDaemon then tells the home's configuration and registration).</summary>
    public bool Running { get; init; } = true;

    /// <summary>True when a systemd user unit starts this home's daemon at login (Register-WsyncDaemon).</summary>
    public bool Registered { get; init; }

    /// <summary>The home's systemd user unit, registered or not: wsyncd.service for the default home.</summary>
    public string? UnitName { get; init; }

    public string? UnitPath { get; init; }

    /// <summary>Whether the user's systemd manager starts at boot without a login (loginctl enable-linger); null when unknown.</summary>
    public bool? Lingering { get; init; }
}

public sealed record AddWorkspaceRequest
{
    /// <summary>An absolute path; the module resolves relative ones against the PowerShell location.</summary>
    public required string Path { get; init; }

    public string? Name { get; init; }

    public IReadOnlyList<string> Exclude { get; init; } = [];

    public bool UseGitIgnore { get; init; }

    /// <summary>Accept a path that is normally refused (/, the home directory, a system directory).</summary>
    public bool Force { get; init; }
}

public sealed record ConnectRemoteRequest
{
    public required string Workspace { get; init; }

    public required string Destination { get; init; }

    public string? Name { get; init; }

    public int? Port { get; init; }

    public string? IdentityFile { get; init; }

    public IReadOnlyList<string> SshOptions { get; init; } = [];

    /// <summary>Accept ssh options that run local commands (ProxyCommand and the like).</summary>
    public bool AllowUnsafeSshOption { get; init; }

    /// <summary>Return only after the initial sync has made the remote a mirror.</summary>
    public bool WaitForInitialSync { get; init; }

    /// <summary>
    /// Connect even when the destination already holds entries the workspace root does not: the initial
    /// sync deletes them. Without it such a destination is refused with <see cref="ErrorIds.DestinationHoldsOtherFiles"/>.
    /// </summary>
    public bool Force { get; init; }

    /// <summary>How changes travel: Agent (where it can run; the default) or Rsync alone.</summary>
    public RemoteTransport Transport { get; init; } = RemoteTransport.Agent;

    /// <summary>What is done about changes made on the remote by something other than wsync: Undo (the default) or Report.</summary>
    public DriftAction DriftAction { get; init; }
}
