using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Wsync.Platform;

/// <summary>A path that would leave the root, or that no file name can be ("..", an absolute path, a NUL, a symlink on the way).</summary>
public sealed class ConfinementException(string message) : IOException(message);

/// <summary>A system call on a confined path failed: the errno and, in words, what was being done to which path.</summary>
public sealed class FileSystemException(int errno, string message) : IOException(message)
{
    public int Errno { get; } = errno;
}

/// <summary>A file read through <see cref="ConfinedRoot.ReadFile"/>: its content and what fstat said of it after the read.</summary>
public sealed record FileContent(byte[] Content, FileStatus Status);

/// <summary>
/// A directory tree whose writes never leave it. Every path is relative and resolved one component at a time
/// from the root's descriptor (openat with O_NOFOLLOW and O_DIRECTORY): "..", ".", empty components and
/// absolute paths are refused, and a symlink anywhere on the way (a mirrored <c>link -&gt; /etc</c>, then a
/// write to <c>link/passwd</c>) stops the walk. The last component is acted on through *at calls on its
/// parent's descriptor, never following it. Each change is atomic where the file system allows (a temporary
/// name in the same directory, then rename) and leaves what rsync -rlpt would: content, permission bits,
/// modification time, link target. Paths are <see cref="LinuxPath"/> strings (bytes). Not thread-safe.
/// </summary>
public sealed unsafe partial class ConfinedRoot : IDisposable
{
    /// <summary>The prefix of the temporary names changes are written under before they are renamed into place.</summary>
    public const string TemporaryPrefix = ".wsync-";

    private const int AtRemoveDirectory = 0x200;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const int OpenWriteOnly = 0x1;
    private const int OpenCreate = 0x40;
    private const int OpenExclusive = 0x80;
    private const int OpenCloseOnExec = 0x80000;
    private const int OpenNonBlocking = 0x800;
    private const int OpenPath = 0x200000;
    private const long UtimeOmit = (1L << 30) - 2;
    private const int ErrorNotFound = 2;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int OpenReadOnly = 0;

    private readonly SafeFileHandle root;

    private ConfinedRoot(string path, SafeFileHandle root)
    {
        Path = path;
        this.root = root;
    }

    /// <summary>The root, as given.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> (which may itself be reached through symlinks: the user chose it) as the root.</summary>
    /// <exception cref="IOException">It is missing or not a directory.</exception>
    public static ConfinedRoot Open(string path)
    {
        int fd;
        fixed (byte* name = Posix.Terminated(path))
        {
            fd = OpenAt(-100, name, Posix.OpenDirectoryOnly | OpenCloseOnExec, 0);
        }

        return fd < 0
            ? throw Failure("open the root", path, Marshal.GetLastPInvokeError())
            : new ConfinedRoot(path, new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>What <paramref name="relative"/> is (not following it), <see cref="FileStatus.Missing"/> when nothing is there.</summary>
    public FileStatus Status(string relative)
    {
        if (relative.Length == 0)
        {
            return Posix.StatusOf(root);
        }

        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            return StatusIn(parent, leaf);
        }
    }

    /// <summary>
    /// Takes an exclusive flock on the root directory itself (nothing is written for it); false when another
    /// holder has it. Held until <see cref="Dispose"/>: one writer per root, across processes and hosts' users.
    /// </summary>
    public bool TryLock()
    {
        var added = false;
        try
        {
            root.DangerousAddRef(ref added);
            return FileLock(Fd(root), LockExclusive | LockNonBlocking) == 0;
        }
        finally
        {
            if (added)
            {
                root.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// The content of the regular file <paramref name="relative"/> (never through a symlink); null when it is
    /// missing, not a regular file, or larger than <paramref name="limit"/> (also when it grew past it while read).
    /// </summary>
    public FileContent? ReadFile(string relative, int limit)
    {
        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            int fd;
            fixed (byte* name = leaf)
            {
                fd = OpenAt(Fd(parent), name, OpenReadOnly | Posix.OpenNoFollow | OpenCloseOnExec | OpenNonBlocking, 0);
            }

            if (fd < 0)
            {
                return null;
            }

            using var file = new SafeFileHandle(fd, ownsHandle: true);
            var before = Posix.StatusOf(file);
            if (before.Kind != FileKind.File || before.Size > limit)
            {
                return null;
            }

            var content = new byte[before.Size];
            var read = 0;
            while (read < content.Length)
            {
                var count = RandomAccess.Read(file, content.AsSpan(read), read);
                if (count == 0)
                {
                    break;
                }

                read += count;
            }

            // What fstat says now goes with the content: if the file changed while it was read, its next event
            // sends it again, and the time sent is never older than the content.
            var after = Posix.StatusOf(file);
            return after.Size > limit ? null : new FileContent(read == content.Length ? content : content[..read], after);
        }
    }

    /// <summary>The target of the symlink <paramref name="relative"/> (bytes, as a <see cref="LinuxPath"/> string); null when it is not one.</summary>
    public string? ReadLink(string relative)
    {
        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            var target = stackalloc byte[4096];
            nint length;
            fixed (byte* name = leaf)
            {
                length = ReadLinkAt(Fd(parent), name, target, 4096);
            }

            return length < 0 ? null : LinuxPath.FromBytes(new ReadOnlySpan<byte>(target, (int)length));
        }
    }

    /// <summary>Replaces whatever is at <paramref name="relative"/> with a file of this content, mode and time.</summary>
    public void WriteFile(string relative, ReadOnlySpan<byte> content, uint mode, long seconds, uint nanoseconds)
    {
        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            var temporary = TemporaryName();
            int fd;
            fixed (byte* name = temporary)
            {
                fd = OpenAt(Fd(parent), name, OpenWriteOnly | OpenCreate | OpenExclusive | Posix.OpenNoFollow | OpenCloseOnExec, 0x180);
            }

            if (fd < 0)
            {
                throw Failure("create a temporary file for", relative, Marshal.GetLastPInvokeError());
            }

            try
            {
                using (var file = new SafeFileHandle(fd, ownsHandle: true))
                {
                    RandomAccess.Write(file, content, 0);
                    Check(ChangeMode(fd, mode & 0xFFF) == 0, "set the mode of", relative);
                    Check(SetTimes(fd, null, seconds, nanoseconds, 0) == 0, "set the time of", relative);
                }

                ReplaceWith(parent, temporary, leaf, relative);
            }
            catch
            {
                Unlink(parent, temporary, 0);
                throw;
            }
        }
    }

    /// <summary>Makes <paramref name="relative"/> a directory (replacing a file or link there) with this mode and time; what it holds is left alone.</summary>
    public void MakeDirectory(string relative, uint mode, long seconds, uint nanoseconds)
    {
        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            var existing = StatusIn(parent, leaf).Kind;
            if (existing is not (FileKind.Directory or FileKind.Missing))
            {
                Check(Unlink(parent, leaf, 0) == 0, "remove what is in the way of", relative);
            }

            if (existing != FileKind.Directory)
            {
                fixed (byte* name = leaf)
                {
                    Check(MakeDirectoryAt(Fd(parent), name, 0x1C0) == 0, "create", relative);
                }
            }

            SetAttributesIn(parent, leaf, relative, mode, seconds, nanoseconds);
        }
    }

    /// <summary>Replaces whatever is at <paramref name="relative"/> with a symlink to <paramref name="target"/> (kept as bytes, never followed).</summary>
    public void Symlink(string relative, string target, long seconds, uint nanoseconds)
    {
        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            var temporary = TemporaryName();
            fixed (byte* to = Posix.Terminated(target))
            fixed (byte* name = temporary)
            {
                Check(SymlinkAt(to, Fd(parent), name) == 0, "create the link", relative);
            }

            try
            {
                SetTimesIn(parent, temporary, seconds, nanoseconds, relative);
                ReplaceWith(parent, temporary, leaf, relative);
            }
            catch
            {
                Unlink(parent, temporary, 0);
                throw;
            }
        }
    }

    /// <summary>
    /// Removes <paramref name="relative"/>; nothing there is not an error. A directory goes with everything in
    /// it when <paramref name="recursive"/>, and otherwise only when it is empty.
    /// </summary>
    public void Remove(string relative, bool recursive = true)
    {
        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            if (recursive || StatusIn(parent, leaf).Kind != FileKind.Directory)
            {
                RemoveIn(parent, leaf, relative);
                return;
            }

            Check(Unlink(parent, leaf, AtRemoveDirectory) == 0 || Marshal.GetLastPInvokeError() == ErrorNotFound, "remove the directory", relative);
        }
    }

    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> (rename(2): a directory replaces only an empty one).</summary>
    public void Rename(string from, string to)
    {
        var (source, sourceLeaf) = Parent(from);
        using (source)
        {
            var (target, targetLeaf) = Parent(to);
            using (target)
            {
                fixed (byte* old = sourceLeaf)
                fixed (byte* renamed = targetLeaf)
                {
                    Check(RenameAt(Fd(source), old, Fd(target), renamed) == 0, "rename", from);
                }
            }
        }
    }

    /// <summary>Sets the mode (null: keep it; never on a link) and the modification time of <paramref name="relative"/>, not following it.</summary>
    public void SetAttributes(string relative, uint? mode, long seconds, uint nanoseconds)
    {
        if (relative.Length == 0)
        {
            SetRootAttributes(mode, seconds, nanoseconds);
            return;
        }

        var (parent, leaf) = Parent(relative);
        using (parent)
        {
            SetAttributesIn(parent, leaf, relative, mode, seconds, nanoseconds);
        }
    }

    public void Dispose() => root.Dispose();

    /// <summary>The root's own mode and time ("." in rsync's list), through its descriptor.</summary>
    private void SetRootAttributes(uint? mode, long seconds, uint nanoseconds)
    {
        if (mode is { } bits)
        {
            Check(ChangeMode(Fd(root), bits & 0xFFF) == 0, "set the mode of", ".");
        }

        Check(SetTimes(Fd(root), null, seconds, nanoseconds, 0) == 0, "set the time of", ".");
    }

    /// <summary>
    /// The directory holding the last component of <paramref name="relative"/>, opened one component at a time
    /// from the root without following a symlink, and that last component's bytes (NUL-terminated).
    /// </summary>
    private (SafeFileHandle Parent, byte[] Leaf) Parent(string relative)
    {
        var components = Components(relative);
        var current = new SafeFileHandle(root.DangerousGetHandle(), ownsHandle: false);
        foreach (var component in components[..^1])
        {
            int fd;
            fixed (byte* name = component)
            {
                fd = OpenAt(Fd(current), name, Posix.OpenDirectoryOnly | Posix.OpenNoFollow | OpenCloseOnExec, 0);
            }

            var errno = Marshal.GetLastPInvokeError();
            current.Dispose();
            if (fd < 0)
            {
                // ELOOP, ENOTDIR: a symlink or a file on the way. Never followed, and not a breach either: a mirror
                // behind the workspace may hold a link where the workspace now has a directory. The request fails.
                throw errno is 40 or 20
                    ? new FileSystemException(20, $"'{LinuxPath.Display(relative)}' passes through something that is not a directory (a symlink is never followed)")
                    : Failure("reach", relative, errno);
            }

            current = new SafeFileHandle(fd, ownsHandle: true);
        }

        return (current, components[^1]);
    }

    /// <summary>Whether <paramref name="relative"/> names a path below a root ("" is the root itself): the rule every method here enforces.</summary>
    public static bool IsConfined(string relative)
    {
        if (relative.Length == 0)
        {
            return true;
        }

        try
        {
            Components(relative);
            return true;
        }
        catch (ConfinementException)
        {
            return false;
        }
    }

    /// <summary>The components of a relative path, each NUL-terminated; refuses what could leave the root.</summary>
    private static byte[][] Components(string relative)
    {
        var bytes = LinuxPath.ToBytes(relative);
        if (bytes.Length == 0 || bytes.Length > 4096 || bytes[0] == (byte)'/' || bytes.AsSpan().IndexOf((byte)0) >= 0)
        {
            throw new ConfinementException($"'{LinuxPath.Display(relative)}' is not a relative path inside the root");
        }

        var parts = new List<byte[]>();
        foreach (var range in bytes.AsSpan().Split((byte)'/'))
        {
            var part = bytes.AsSpan(range);
            if (part.IsEmpty || part.SequenceEqual("."u8) || part.SequenceEqual(".."u8) || part.Length > 255)
            {
                throw new ConfinementException($"'{LinuxPath.Display(relative)}' has a component that is not a file name ('', '.', '..' or too long)");
            }

            parts.Add([.. part, 0]);
        }

        return [.. parts];
    }

    private static FileStatus StatusIn(SafeFileHandle parent, byte[] leaf)
    {
        fixed (byte* name = leaf)
        {
            return Posix.StatusAt(Fd(parent), name, AtSymlinkNoFollow);
        }
    }

    /// <summary>Renames a temporary entry over <paramref name="leaf"/>, first removing a directory there (rsync's --force).</summary>
    private void ReplaceWith(SafeFileHandle parent, byte[] temporary, byte[] leaf, string relative)
    {
        if (StatusIn(parent, leaf).Kind == FileKind.Directory)
        {
            RemoveIn(parent, leaf, relative);
        }

        fixed (byte* from = temporary)
        fixed (byte* to = leaf)
        {
            Check(RenameAt(Fd(parent), from, Fd(parent), to) == 0, "put in place", relative);
        }
    }

    private void RemoveIn(SafeFileHandle parent, byte[] leaf, string relative)
    {
        var kind = StatusIn(parent, leaf).Kind;
        if (kind == FileKind.Missing)
        {
            return;
        }

        if (kind == FileKind.Directory)
        {
            int fd;
            fixed (byte* name = leaf)
            {
                fd = OpenAt(Fd(parent), name, Posix.OpenDirectoryOnly | Posix.OpenNoFollow | OpenCloseOnExec, 0);
            }

            Check(fd >= 0, "open", relative);
            using (var directory = new SafeFileHandle(fd, ownsHandle: true))
            {
                foreach (var child in Entries(directory))
                {
                    RemoveIn(directory, child, relative);
                }
            }
        }

        var removed = Unlink(parent, leaf, kind == FileKind.Directory ? AtRemoveDirectory : 0);
        Check(removed == 0 || Marshal.GetLastPInvokeError() == ErrorNotFound, "remove", relative);
    }

    /// <summary>The names in an open directory (NUL-terminated), not "." and "..".</summary>
    private static List<byte[]> Entries(SafeFileHandle directory)
    {
        var copy = Duplicate(Fd(directory));
        var stream = OpenDirectoryStream(copy);
        if (stream == IntPtr.Zero)
        {
            Close(copy);
            return [];
        }

        var names = new List<byte[]>();
        try
        {
            byte* entry;
            while ((entry = ReadEntry(stream)) != null)
            {
                var name = new ReadOnlySpan<byte>(entry + 19, 256);
                name = name[..name.IndexOf((byte)0)];
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    names.Add([.. name, 0]);
                }
            }
        }
        finally
        {
            CloseDirectoryStream(stream);
        }

        return names;
    }

    private static void SetAttributesIn(SafeFileHandle parent, byte[] leaf, string relative, uint? mode, long seconds, uint nanoseconds)
    {
        if (mode is { } bits)
        {
            // chmod through an O_PATH descriptor of the entry itself: never a link's target.
            int fd;
            fixed (byte* name = leaf)
            {
                fd = OpenAt(Fd(parent), name, OpenPath | Posix.OpenNoFollow | OpenCloseOnExec, 0);
            }

            Check(fd >= 0, "open", relative);
            using var entry = new SafeFileHandle(fd, ownsHandle: true);
            byte empty = 0;
            if (Posix.StatusAt(fd, &empty, AtEmptyPath).Kind != FileKind.SymbolicLink)
            {
                fixed (byte* proc = Posix.Terminated($"/proc/self/fd/{fd}"))
                {
                    Check(ChangeModeOfPath(proc, bits & 0xFFF) == 0, "set the mode of", relative);
                }
            }
        }

        SetTimesIn(parent, leaf, seconds, nanoseconds, relative);
    }

    private static void SetTimesIn(SafeFileHandle parent, byte[] leaf, long seconds, uint nanoseconds, string relative)
    {
        fixed (byte* name = leaf)
        {
            Check(SetTimes(Fd(parent), name, seconds, nanoseconds, AtSymlinkNoFollow) == 0, "set the time of", relative);
        }
    }

    /// <summary>utimensat: the modification time set, the access time left alone.</summary>
    private static int SetTimes(int fd, byte* name, long seconds, uint nanoseconds, int flags)
    {
        var times = stackalloc long[4];
        times[0] = 0;
        times[1] = UtimeOmit;
        times[2] = seconds;
        times[3] = nanoseconds;
        // glibc's utimensat refuses a null name (the system call would take it): futimens is the descriptor's own.
        return name == null ? UpdateTimesOf(fd, times) : UpdateTimes(fd, name, times, flags);
    }

    private static int Unlink(SafeFileHandle parent, byte[] leaf, int flags)
    {
        fixed (byte* name = leaf)
        {
            return UnlinkAt(Fd(parent), name, flags);
        }
    }

    /// <summary>A fresh temporary name for this directory: the prefix, random hex, ".tmp".</summary>
    private static byte[] TemporaryName() => [.. System.Text.Encoding.ASCII.GetBytes($"{TemporaryPrefix}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp"), 0];

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static void Check(bool succeeded, string what, string relative)
    {
        if (!succeeded)
        {
            throw Failure(what, relative, Marshal.GetLastPInvokeError());
        }
    }

    private static FileSystemException Failure(string what, string relative, int errno) =>
        new(errno, $"Could not {what} '{LinuxPath.Display(relative)}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAt(int directory, byte* path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static partial int MakeDirectoryAt(int directory, byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static partial int UnlinkAt(int directory, byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true)]
    private static partial int RenameAt(int fromDirectory, byte* from, int toDirectory, byte* to);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true)]
    private static partial int SymlinkAt(byte* target, int directory, byte* path);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int ChangeMode(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true)]
    private static partial int ChangeModeOfPath(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    private static partial int UpdateTimes(int directory, byte* path, long* times, int flags);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int UpdateTimesOf(int fd, long* times);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FileLock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true)]
    private static partial nint ReadLinkAt(int directory, byte* path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Duplicate(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static partial IntPtr OpenDirectoryStream(int fd);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static partial byte* ReadEntry(IntPtr directory);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int CloseDirectoryStream(IntPtr directory);
}
