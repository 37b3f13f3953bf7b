using System.Reflection;

namespace Wsync;

/// <summary>Identifies the wire contract shared by the module, the daemon and the monitors.</summary>
public static class ProtocolInfo
{
    /// <summary>
    /// Bumped whenever a method or record of <see cref="IWsyncDaemon"/> or <see cref="IMonitor"/> changes
    /// shape; a client and a daemon of different versions refuse to talk rather than misread each other.
    /// </summary>
    public const int Version = 6;

    /// <summary>The product version, the same for every assembly of one build.</summary>
    public static string ProductVersion { get; } =
        typeof(ProtocolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(ProtocolInfo).Assembly.GetName().Version?.ToString(3)
        ?? "0.0.0";
}
