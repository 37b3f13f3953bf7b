using System.Runtime.InteropServices;

namespace Wsync.Platform;

/// <summary>What a directory entry is, without following a symlink.</summary>
public enum FileKind
{
    Missing,
    File,
    Directory,
    SymbolicLink,

    /// <summary>A FIFO, socket or device: rsync skips these without -D.</summary>
    Other,
}

/// <summary>
/// What lstat says of a path: the fields wsync decides on. The modification time is seconds and nanoseconds since
/// the epoch; <paramref name="Blocks"/> counts the 512-byte blocks the file takes on disk.
/// </summary>
public readonly record struct FileStatus(FileKind Kind, uint Mode, long Size, ulong Inode, uint Links, uint Owner, ulong Device, long ModifiedSeconds, uint ModifiedNanoseconds,
    long Blocks = 0)
{
    public static readonly FileStatus Missing = new(FileKind.Missing, 0, 0, 0, 0, uint.MaxValue, 0, 0, 0);

    public bool Exists => Kind != FileKind.Missing;

    /// <summary>A regular file with holes: it takes less on disk than its size says.</summary>
    public bool IsSparse => Kind == FileKind.File && Blocks * 512 < Size;
}

/// <summary>
/// The file system calls wsync makes on user paths, by bytes (<see cref="LinuxPath"/>): System.IO cannot
/// reach a name that is not UTF-8. Paths are absolute or relative to the working directory, as in libc.
/// statx is used for lstat because its layout is the same on every architecture.
/// </summary>
public static unsafe partial class Posix
{
    public const int ErrorNotFound = 2;
    public const int ErrorExists = 17;
    public const int ErrorNotDirectory = 20;
    public const int ErrorIsDirectory = 21;
    public const int ErrorNotEmpty = 39;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxSize = 256;
    private const uint TypeMask = 0xF000;
    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;

    /// <summary>lstat: what <paramref name="path"/> is, without following a final symlink; <see cref="FileStatus.Missing"/> if nothing is there.</summary>
    public static FileStatus Status(string path)
    {
        fixed (byte* name = Terminated(path))
        {
            return StatusAt(AtFdCwd, name, AtSymlinkNoFollow);
        }
    }

    /// <summary>fstat: what the open file <paramref name="handle"/> is now.</summary>
    public static FileStatus StatusOf(SafeHandle handle)
    {
        byte empty = 0;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return StatusAt((int)handle.DangerousGetHandle(), &empty, AtEmptyPath | AtSymlinkNoFollow);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>statx of <paramref name="name"/> relative to <paramref name="directory"/> (a descriptor, or AT_FDCWD), as a <see cref="FileStatus"/>.</summary>
    internal static FileStatus StatusAt(int directory, byte* name, int flags)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Statx(directory, name, flags, StatxBasicStats, buffer) != 0)
        {
            return FileStatus.Missing;
        }

        var mode = *(ushort*)(buffer + 28);
        var kind = (mode & TypeMask) switch
        {
            0x8000 => FileKind.File,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Other,
        };
        // struct statx: nlink at 16, uid at 20, mode at 28, ino at 32, size at 40, blocks at 48, mtime (i64
        // seconds, u32 nanoseconds) at 112 and 120, dev_major and dev_minor at 136 and 140.
        var device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140);
        return new FileStatus(kind, mode & 0xFFFu, *(long*)(buffer + 40), *(ulong*)(buffer + 32), *(uint*)(buffer + 16), *(uint*)(buffer + 20), device,
            *(long*)(buffer + 112), *(uint*)(buffer + 120), *(long*)(buffer + 48));
    }

    /// <summary>
    /// The entries of a directory (not "." and ".."), names as <see cref="LinuxPath"/> strings, each with its
    /// kind when the file system tells it (else found with <see cref="Status"/>). Null when it cannot be read:
    /// gone, not a directory, no permission.
    /// </summary>
    public static List<(string Name, FileKind Kind)>? ReadDirectory(string path)
    {
        var directory = IntPtr.Zero;
        fixed (byte* name = Terminated(path))
        {
            directory = OpenDirectory(name);
        }

        if (directory == IntPtr.Zero)
        {
            return null;
        }

        var entries = new List<(string, FileKind)>();
        try
        {
            byte* entry;
            while ((entry = ReadEntry(directory)) != null)
            {
                // struct dirent on 64-bit glibc: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
                var entryName = new ReadOnlySpan<byte>(entry + 19, 256);
                entryName = entryName[..entryName.IndexOf((byte)0)];
                if (entryName.SequenceEqual("."u8) || entryName.SequenceEqual(".."u8))
                {
                    continue;
                }

                var text = LinuxPath.FromBytes(entryName);
                var kind = entry[18] switch
                {
                    8 => FileKind.File,
                    4 => FileKind.Directory,
                    10 => FileKind.SymbolicLink,
                    0 => Status(path.TrimEnd('/') + "/" + text).Kind,
                    _ => FileKind.Other,
                };
                if (kind != FileKind.Missing)
                {
                    entries.Add((text, kind));
                }
            }
        }
        finally
        {
            CloseDirectory(directory);
        }

        return entries;
    }

    /// <summary>The user this process acts as (geteuid).</summary>
    public static uint EffectiveUserId() => GetEuid();

    /// <summary>The canonical absolute path with every symlink resolved (realpath), or null if it does not exist.</summary>
    public static string? ResolvePath(string path)
    {
        fixed (byte* name = Terminated(path))
        {
            var resolved = RealPath(name, null);
            if (resolved == null)
            {
                return null;
            }

            try
            {
                return LinuxPath.FromBytes(new ReadOnlySpan<byte>(resolved, new ReadOnlySpan<byte>(resolved, 4096).IndexOf((byte)0)));
            }
            finally
            {
                Free(resolved);
            }
        }
    }

    /// <summary>rename(2); 0 or the errno.</summary>
    public static int Rename(string from, string to)
    {
        fixed (byte* source = Terminated(from))
        fixed (byte* target = Terminated(to))
        {
            return RenameAt(source, target) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>mkdir(2) with <paramref name="mode"/> (before the umask); 0 or the errno.</summary>
    public static int MakeDirectory(string path, uint mode = 0x1FF)
    {
        fixed (byte* name = Terminated(path))
        {
            return MakeDirectoryAt(name, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>The target of the symlink at <paramref name="path"/>, or null if it is not one.</summary>
    public static string? ReadLink(string path)
    {
        var buffer = stackalloc byte[4096];
        fixed (byte* name = Terminated(path))
        {
            var length = ReadLinkAt(name, buffer, 4096);
            return length < 0 ? null : LinuxPath.FromBytes(new ReadOnlySpan<byte>(buffer, (int)length));
        }
    }

    /// <summary>O_NOFOLLOW: 0400000 on x86-64, 0100000 on arm64 (asm/fcntl.h of each).</summary>
    public static readonly int OpenNoFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary>O_DIRECTORY: 0200000 on x86-64, 040000 on arm64.</summary>
    public static readonly int OpenDirectoryOnly = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;

    /// <summary>Opens a file for reading (never following a final symlink), or null if it cannot be opened.</summary>
    public static FileStream? OpenRead(string path)
    {
        int fd;
        fixed (byte* name = Terminated(path))
        {
            fd = Open(name, OpenReadOnly | OpenNoFollow | OpenCloseOnExec);
        }

        return fd < 0 ? null : new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Read);
    }

    /// <summary><paramref name="path"/>'s bytes with the NUL that C expects.</summary>
    public static byte[] Terminated(string path)
    {
        var bytes = LinuxPath.ToBytes(path);
        var terminated = new byte[bytes.Length + 1];
        bytes.CopyTo(terminated, 0);
        return terminated;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static partial byte* RealPath(byte* path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(byte* pointer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int dirFd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "opendir", SetLastError = true)]
    private static partial IntPtr OpenDirectory(byte* path);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static partial byte* ReadEntry(IntPtr directory);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int CloseDirectory(IntPtr directory);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static partial int RenameAt(byte* from, byte* to);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true)]
    private static partial int MakeDirectoryAt(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static partial nint ReadLinkAt(byte* path, byte* buffer, nint size);
}
