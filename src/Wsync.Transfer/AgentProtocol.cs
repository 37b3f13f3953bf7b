namespace Wsync.Transfer;

/// <summary>
/// The agent protocol's fixed points. A session opens with a handshake in both directions: each side first
/// writes its magic (raw bytes, not a frame), then the monitor sends Hello and the agent answers Welcome, or
/// Failed and ends. A remote login shell may print before the agent starts (a motd, an echo in .bashrc):
/// the monitor reads up to the agent's magic, and whatever came before it is named in the error, never read
/// as frames. After the handshake every request gets one reply, in order, so replies are matched by position.
/// </summary>
public static class AgentProtocol
{
    /// <summary>Bumped whenever a frame changes; an agent of another version is replaced, never spoken to.</summary>
    public const ushort Version = 2;

    /// <summary>
    /// Files up to this size travel whole inside one frame; larger ones go to rsync, whose delta transfer
    /// sends only what changed (a line appended to a 50 MB log costs kilobytes, not the file). At 256 KiB a
    /// whole file costs about as much on a slow link (10 MB/s: 25 ms) as one rsync run's processes and round
    /// trips, and almost every file an editor saves is far smaller.
    /// </summary>
    public const int InlineLimit = 256 * 1024;

    /// <summary>The longest frame either side accepts: the largest inline file and its fields, with room to spare.</summary>
    public const int MaxFrame = InlineLimit + 16 * 1024;

    /// <summary>The most output a login shell may print before the agent's magic before the monitor gives up on it.</summary>
    public const int MaxNoise = 64 * 1024;

    /// <summary>What the agent writes first: a NUL, which no shell's greeting holds, then its name.</summary>
    public static ReadOnlyMemory<byte> AgentMagic { get; } = "\0wsync-agent\n"u8.ToArray();

    /// <summary>What the monitor writes first, so that an agent never applies input that is not from a monitor.</summary>
    public static ReadOnlyMemory<byte> MonitorMagic { get; } = "\0wsync-monitor\n"u8.ToArray();
}
