using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Wsync;

/// <summary>What statx(2) says of a path: the fields wsync decides on.</summary>
public readonly record struct FileIdentity(uint OwnerUserId, uint Mode, ulong Inode, ulong Device);

/// <summary>The libc calls the contract needs. statx is used because its layout is the same on every architecture.</summary>
public static partial class NativeMethods
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxSize = 256;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);

    public static uint GetEffectiveUserId() => GetEuid();

    /// <summary>The canonical absolute path with every symlink resolved, or null if it does not exist.</summary>
    public static string? ResolvePath(string path)
    {
        var resolved = RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    /// <summary>The identity of <paramref name="path"/> itself (a symlink is not followed), or null if it does not exist.</summary>
    public static unsafe FileIdentity? Identify(string path)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
        {
            return null;
        }

        var span = new ReadOnlySpan<byte>(buffer, StatxSize);
        var uid = BinaryPrimitives.ReadUInt32LittleEndian(span[20..]);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(span[28..]);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(span[32..]);
        var deviceMajor = BinaryPrimitives.ReadUInt32LittleEndian(span[136..]);
        var deviceMinor = BinaryPrimitives.ReadUInt32LittleEndian(span[140..]);
        return new FileIdentity(uid, mode, inode, ((ulong)deviceMajor << 32) | deviceMinor);
    }

    /// <summary>The owner's uid of <paramref name="path"/>, or uint.MaxValue if it does not exist.</summary>
    public static uint GetOwner(string path) => Identify(path)?.OwnerUserId ?? uint.MaxValue;
}
