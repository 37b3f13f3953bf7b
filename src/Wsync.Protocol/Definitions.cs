using System.Text.Json.Serialization;

namespace Wsync;

/// <summary>
/// A workspace as stored in the workspace file (a JSON array of these) and handed to its monitor.
/// Only what the user chose lives here; live status is never persisted.
/// </summary>
public sealed record WorkspaceDefinition
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Absolute, symlink-free path of the workspace root.</summary>
    public required string Path { get; init; }

    /// <summary>rsync-syntax patterns, relative to the workspace root.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    public bool UseGitIgnore { get; init; }

    public bool Suspended { get; init; }

    public DateTimeOffset Created { get; init; }

    public IReadOnlyList<RemoteDefinition> Remotes { get; init; } = [];
}

/// <summary>A remote as stored in the workspace file.</summary>
public sealed record RemoteDefinition
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Canonical destination (<see cref="Wsync.Destination.ToString"/>); parsed again on load.</summary>
    public required string Destination { get; init; }

    public int? Port { get; init; }

    public string? IdentityFile { get; init; }

    public IReadOnlyList<string> SshOptions { get; init; } = [];

    /// <summary>How its changes travel, as asked on Connect-WsyncRemote (Agent where it can run, or Rsync alone).</summary>
    public RemoteTransport Transport { get; init; } = RemoteTransport.Agent;

    /// <summary>What is done about changes made on the remote by something other than wsync, as asked on Connect-WsyncRemote.</summary>
    public DriftAction DriftAction { get; init; }

    public DateTimeOffset Created { get; init; }
}

/// <summary>Why a destination cannot work: what <c>wsync-monitor --probe</c> prints (as JSON), and what <see cref="IMonitor.ProbeAsync"/> returns.</summary>
public sealed record ProbeFailure
{
    public required string ErrorId { get; init; }

    public required WsyncErrorCategory Category { get; init; }

    public required string Message { get; init; }
}

/// <summary>What <c>wsync-monitor --probe</c> prints (as JSON) when a destination works, and what <see cref="IMonitor.ProbeAsync"/> returns.</summary>
public sealed record ProbeResult
{
    /// <summary>The names of the entries at the top of the destination directory.</summary>
    public IReadOnlyList<string> Entries { get; init; } = [];

    /// <summary>Why the destination cannot work; null when it can.</summary>
    public ProbeFailure? Failure { get; init; }
}

/// <summary>
/// The probe's JSON (a <see cref="RemoteDefinition"/> in, a <see cref="ProbeResult"/> or <see cref="ProbeFailure"/> out), with the
/// serializer's default options, generated at build time for the natively compiled daemon and monitor.
/// </summary>
[JsonSerializable(typeof(RemoteDefinition))]
[JsonSerializable(typeof(ProbeFailure))]
[JsonSerializable(typeof(ProbeResult))]
public sealed partial class ProbeJsonContext : JsonSerializerContext;
