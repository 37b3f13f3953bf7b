namespace Wsync;

/// <summary>
/// How a failure is classified. The names are PowerShell's <c>ErrorCategory</c> members, so the module
/// maps one onto the other by name without this assembly depending on PowerShell.
/// </summary>
public enum WsyncErrorCategory
{
    NotSpecified,
    InvalidArgument,
    InvalidData,
    InvalidOperation,
    ObjectNotFound,
    ResourceExists,
    ResourceUnavailable,
    ConnectionError,
    PermissionDenied,
    SecurityError,
    OperationTimeout,
    OperationStopped,
    ProtocolError,
    ReadError,
    WriteError,
    NotInstalled,
    LimitsExceeded,
    DeviceError,
}

/// <summary>The stable error identifiers users and scripts can match on. Never rename one.</summary>
public static class ErrorIds
{
    public const string ConfigInvalid = "ConfigInvalid";
    public const string DaemonAlreadyRunning = "DaemonAlreadyRunning";
    public const string DaemonNotRunning = "DaemonNotRunning";
    public const string DaemonStartFailed = "DaemonStartFailed";
    public const string DaemonUnreachable = "DaemonUnreachable";
    public const string DaemonInternalError = "DaemonInternalError";
    public const string ProtocolMismatch = "ProtocolMismatch";
    public const string SocketPathTooLong = "SocketPathTooLong";
    public const string StoreWriteFailed = "StoreWriteFailed";

    public const string WorkspacePathNotFound = "WorkspacePathNotFound";
    public const string WorkspacePathNotDirectory = "WorkspacePathNotDirectory";
    public const string WorkspacePathUnsafe = "WorkspacePathUnsafe";
    public const string WorkspacePathInUse = "WorkspacePathInUse";
    public const string WorkspaceNested = "WorkspaceNested";
    public const string WorkspaceNameInvalid = "WorkspaceNameInvalid";
    public const string WorkspaceNameInUse = "WorkspaceNameInUse";
    public const string WorkspaceNotFound = "WorkspaceNotFound";
    public const string ExcludePatternInvalid = "ExcludePatternInvalid";

    public const string RemoteNotFound = "RemoteNotFound";
    public const string RemoteNameInvalid = "RemoteNameInvalid";
    public const string RemoteNameInUse = "RemoteNameInUse";
    public const string RemoteDestinationInUse = "RemoteDestinationInUse";
    public const string DestinationInvalid = "DestinationInvalid";
    public const string DestinationInsideWorkspace = "DestinationInsideWorkspace";
    public const string DestinationNotFound = "DestinationNotFound";
    public const string DestinationNotWritable = "DestinationNotWritable";
    public const string DestinationUnreachable = "DestinationUnreachable";
    public const string PortInvalid = "PortInvalid";
    public const string IdentityFileNotFound = "IdentityFileNotFound";
    public const string SshOptionInvalid = "SshOptionInvalid";
    public const string SshOptionUnsafe = "SshOptionUnsafe";
    public const string SshAuthenticationFailed = "SshAuthenticationFailed";

    /// <summary>Register-WsyncDaemon found no systemd user manager to register with (containers, minimal hosts).</summary>
    public const string SystemdUserManagerUnavailable = "SystemdUserManagerUnavailable";
    public const string HostKeyUnknown = "HostKeyUnknown";
    public const string HostKeyChanged = "HostKeyChanged";

    /// <summary>The destination holds entries the workspace root does not; mirroring would delete them (-Force).</summary>
    public const string DestinationHoldsOtherFiles = "DestinationHoldsOtherFiles";

    public const string MonitorUnavailable = "MonitorUnavailable";
    public const string SyncFailed = "SyncFailed";
    public const string WaitTimeout = "WaitTimeout";
    public const string WorkspaceSuspended = "WorkspaceSuspended";

    /// <summary>The workspace root is empty: resuming would empty every remote (-Force).</summary>
    public const string ResumeWouldEmptyRemotes = "ResumeWouldEmptyRemotes";

    /// <summary>A log file could not be read (Get-WsyncLog).</summary>
    public const string LogReadFailed = "LogReadFailed";
}

/// <summary>The <c>error.data</c> of every wsync failure that crosses a JSON-RPC channel.</summary>
public sealed record WsyncErrorData
{
    /// <summary>One of <see cref="ErrorIds"/>.</summary>
    public required string ErrorId { get; init; }

    public required WsyncErrorCategory Category { get; init; }

    /// <summary>The offending value as the user gave it (a path, a name, a destination).</summary>
    public string? Target { get; init; }
}

/// <summary>
/// A failure the user can act on. Thrown by the daemon, carried over JSON-RPC as
/// <see cref="WsyncErrorData"/>, rethrown by the module's engine and reported by the cmdlets as an ErrorRecord.
/// </summary>
public sealed class WsyncException : Exception
{
    public WsyncException(string errorId, WsyncErrorCategory category, string? target, string message, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
    }

    /// <summary>One of <see cref="ErrorIds"/>.</summary>
    public string ErrorId { get; }

    public WsyncErrorCategory Category { get; }

    /// <summary>The offending value, reported as the ErrorRecord's TargetObject.</summary>
    public string? Target { get; }

    public WsyncErrorData ToData() => new() { ErrorId = ErrorId, Category = Category, Target = Target };

    /// <summary>The JSON-RPC <c>error.code</c> that marks <c>error.data</c> as a <see cref="WsyncErrorData"/>.</summary>
    public const int RpcErrorCode = 4000;
}
