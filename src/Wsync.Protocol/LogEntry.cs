namespace Wsync;

/// <summary>How severe a log entry is: Serilog's levels, lowest first, so that "at least Warning" is a comparison.</summary>
public enum LogLevel
{
    Verbose,
    Debug,
    Information,
    Warning,
    Error,
    Fatal,
}

/// <summary>One entry of the daemon's or a monitor's log, as Get-WsyncLog writes it.</summary>
public sealed record LogEntry
{
    public required DateTimeOffset Time { get; init; }

    public required LogLevel Level { get; init; }

    /// <summary><c>wsyncd</c> or <c>wsync-monitor</c>.</summary>
    public required string Process { get; init; }

    public int? Pid { get; init; }

    /// <summary>The workspace the entry is about (a monitor's own, or the one a daemon entry names); null otherwise.</summary>
    public string? Workspace { get; init; }

    /// <summary>The message template rendered with the entry's properties (strings unquoted).</summary>
    public required string Message { get; init; }

    /// <summary>The exception logged with the entry (type, message and stack), or null.</summary>
    public string? Exception { get; init; }

    /// <summary>Every property of the entry: strings, numbers, booleans; structured values as JSON text.</summary>
    public IReadOnlyDictionary<string, object?> Properties { get; init; } = new Dictionary<string, object?>();

    /// <summary>The log file the entry was read from.</summary>
    public required string LogFile { get; init; }
}
