using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Wsync.TestSupport;

/// <summary>What lstat says of an entry, for comparing trees.</summary>
public readonly record struct RawStatus(char Kind, UnixFileMode Mode, long Size, long Blocks, ulong Inode, uint Links, long ModifiedSeconds, uint ModifiedNanoseconds);

/// <summary>
/// Files by their names' bytes, for tests: a Linux name need not be UTF-8, and System.IO cannot reach
/// such a file. Names travel as strings in which each byte that is not valid UTF-8 is the lone surrogate
/// U+DC80..U+DCFF ("surrogateescape"); <see cref="Show"/> writes them as \xNN. The product has its own
/// code for the same job; this one is the tests' independent reading of the disk.
/// </summary>
public static unsafe partial class RawFiles
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;

    public static string FromBytes(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                text.Append((char)(0xDC00 + bytes[0]));
                bytes = bytes[1..];
            }
        }

        return text.ToString();
    }

    public static byte[] ToBytes(string path)
    {
        var bytes = new List<byte>(path.Length);
        Span<byte> encoded = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] is >= '\uDC80' and <= '\uDCFF')
            {
                bytes.Add((byte)(path[i] - 0xDC00));
                continue;
            }

            var rune = Rune.GetRuneAt(path, i);
            bytes.AddRange(encoded[..rune.EncodeToUtf8(encoded)]);
            i += rune.Utf16SequenceLength - 1;
        }

        return [.. bytes];
    }

    /// <summary>A name for messages: bytes that are not UTF-8 as \xNN.</summary>
    public static string Show(string path)
    {
        var text = new StringBuilder();
        foreach (var c in path)
        {
            text.Append(c is >= '\uDC80' and <= '\uDCFF' ? $"\\x{c - 0xDC00:x2}" : c == '\n' ? "\\n" : c.ToString());
        }

        return text.ToString();
    }

    /// <summary>lstat; null when nothing is there.</summary>
    public static RawStatus? Status(string path)
    {
        var buffer = stackalloc byte[256];
        fixed (byte* name = Terminated(path))
        {
            if (Statx(AtFdCwd, name, AtSymlinkNoFollow, 0x7ff, buffer) != 0)
            {
                return null;
            }
        }

        var mode = *(ushort*)(buffer + 28);
        var kind = (mode & 0xF000) switch { 0x8000 => 'f', 0x4000 => 'd', 0xA000 => 'l', _ => 'o' };
        return new RawStatus(kind, (UnixFileMode)(mode & 0xFFF), *(long*)(buffer + 40), *(long*)(buffer + 48),
            *(ulong*)(buffer + 32), *(uint*)(buffer + 16), *(long*)(buffer + 112), *(uint*)(buffer + 120));
    }

    /// <summary>The names in a directory (not . and ..).</summary>
    public static List<string> List(string path)
    {
        IntPtr directory;
        fixed (byte* name = Terminated(path))
        {
            directory = OpenDirectory(name);
        }

        if (directory == IntPtr.Zero)
        {
            throw new IOException($"cannot list {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
        }

        var names = new List<string>();
        try
        {
            byte* entry;
            while ((entry = ReadEntry(directory)) != null)
            {
                var raw = new ReadOnlySpan<byte>(entry + 19, 256);
                raw = raw[..raw.IndexOf((byte)0)];
                if (!raw.SequenceEqual("."u8) && !raw.SequenceEqual(".."u8))
                {
                    names.Add(FromBytes(raw));
                }
            }
        }
        finally
        {
            CloseDirectory(directory);
        }

        return names;
    }

    public static string ReadLink(string path)
    {
        var buffer = stackalloc byte[4096];
        fixed (byte* name = Terminated(path))
        {
            var length = ReadLinkAt(name, buffer, 4096);
            return length < 0 ? throw new IOException($"readlink {Show(path)} failed") : FromBytes(new ReadOnlySpan<byte>(buffer, (int)length));
        }
    }

    /// <summary>Opens a file (never through a final symlink) for reading.</summary>
    public static FileStream OpenRead(string path)
    {
        int fd;
        fixed (byte* name = Terminated(path))
        {
            fd = Open(name, RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000);
        }

        return fd < 0
            ? throw new IOException($"cannot open {Show(path)} (errno {Marshal.GetLastPInvokeError()})")
            : new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Read);
    }

    /// <summary>Creates (or truncates) a file by its bytes and writes <paramref name="content"/>.</summary>
    public static void WriteAll(string path, byte[] content)
    {
        int fd;
        fixed (byte* name = Terminated(path))
        {
            fd = Open(name, 0x1 | 0x40 | 0x200, 0x1A4); // O_WRONLY | O_CREAT | O_TRUNC, 0644
        }

        if (fd < 0)
        {
            throw new IOException($"cannot create {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
        }

        using var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Write);
        stream.Write(content);
    }

    /// <summary>Appends <paramref name="content"/> to an existing file.</summary>
    public static void Append(string path, byte[] content)
    {
        int fd;
        fixed (byte* name = Terminated(path))
        {
            fd = Open(name, 0x1 | 0x400); // O_WRONLY | O_APPEND
        }

        if (fd < 0)
        {
            throw new IOException($"cannot append to {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
        }

        using var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Write);
        stream.Write(content);
    }

    public static void SetMode(string path, UnixFileMode mode)
    {
        fixed (byte* name = Terminated(path))
        {
            if (ChangeMode(name, (uint)mode) != 0)
            {
                throw new IOException($"cannot chmod {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>Creates the symlink <paramref name="path"/> pointing at <paramref name="target"/>.</summary>
    public static void Symlink(string target, string path)
    {
        fixed (byte* to = Terminated(target))
        fixed (byte* name = Terminated(path))
        {
            if (SymlinkAt(to, name) != 0)
            {
                throw new IOException($"cannot create the link {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    public static void MakeDirectory(string path)
    {
        fixed (byte* name = Terminated(path))
        {
            if (MakeDirectoryAt(name, 0x1ED) != 0)
            {
                throw new IOException($"cannot create {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    public static void Rename(string from, string to)
    {
        fixed (byte* source = Terminated(from))
        fixed (byte* target = Terminated(to))
        {
            if (RenameAt(source, target) != 0)
            {
                throw new IOException($"cannot rename {Show(from)} to {Show(to)} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>Removes a file or symlink (unlink), or an empty directory (rmdir).</summary>
    public static void Delete(string path)
    {
        fixed (byte* name = Terminated(path))
        {
            if (Unlink(name) != 0 && RemoveDirectory(name) != 0)
            {
                throw new IOException($"cannot delete {Show(path)} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>Removes <paramref name="path"/> and everything below it, as far as it can (best effort, like rm -rf).</summary>
    public static void DeleteTree(string path)
    {
        if (Status(path) is not { } status)
        {
            return;
        }

        if (status.Kind == 'd')
        {
            fixed (byte* name = Terminated(path))
            {
                _ = ChangeMode(name, (uint)(status.Mode | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
            }

            try
            {
                foreach (var child in List(path))
                {
                    DeleteTree(System.IO.Path.Combine(path, child));
                }
            }
            catch (IOException)
            {
            }
        }

        try
        {
            Delete(path);
        }
        catch (IOException)
        {
        }
    }

    private static byte[] Terminated(string path) => [.. ToBytes(path), 0];

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int dirFd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "opendir", SetLastError = true)]
    private static partial IntPtr OpenDirectory(byte* path);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static partial byte* ReadEntry(IntPtr directory);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int CloseDirectory(IntPtr directory);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static partial nint ReadLinkAt(byte* path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* path, int flags, int mode = 0);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static partial int RenameAt(byte* from, byte* to);

    [LibraryImport("libc", EntryPoint = "symlink", SetLastError = true)]
    private static partial int SymlinkAt(byte* target, byte* path);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true)]
    private static partial int ChangeMode(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true)]
    private static partial int Unlink(byte* path);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true)]
    private static partial int RemoveDirectory(byte* path);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true)]
    private static partial int MakeDirectoryAt(byte* path, uint mode);
}
