using System.Net.Sockets;
using System.Runtime.InteropServices;
using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>The libc calls that make wsyncd a well-behaved daemon.</summary>
internal static partial class Native
{
    private const int OpenReadWrite = 2;
    private const int OpenDirectory = 0x10000;
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    /// <summary>Leaves the caller's session and process group, so a Ctrl+C or hang-up there never reaches the daemon.</summary>
    public static void StartNewSession() => SetSid();

    /// <summary>Points stdin, stdout and stderr at /dev/null, which also tells the starter (reading them) we are up.</summary>
    public static void DetachStandardStreams()
    {
        var devNull = Open("/dev/null", OpenReadWrite);
        if (devNull < 0)
        {
            return;
        }

        // The runtime may hold duplicates of the standard streams (its console layer dups them); the
        // starter sees end-of-file only when every copy of the pipe's write end is gone.
        var streams = new[] { 0, 1, 2 }.Select(ProcFs.DescriptorTarget)
            .Where(target => target is not null && (target.StartsWith("pipe:", StringComparison.Ordinal) ||
                target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("/dev/pts/", StringComparison.Ordinal)))
            .ToHashSet();
        foreach (var fd in ProcFs.OpenDescriptors().ToList())
        {
            if (fd > 2 && fd != devNull && streams.Contains(ProcFs.DescriptorTarget(fd)))
            {
                Dup2(devNull, fd);
            }
        }

        Dup2(devNull, 0);
        Dup2(devNull, 1);
        Dup2(devNull, 2);
        if (devNull > 2)
        {
            Close(devNull);
        }
    }

    /// <summary>Makes a rename inside <paramref name="directory"/> durable.</summary>
    public static void FSyncDirectory(string directory)
    {
        var fd = Open(directory, OpenDirectory);
        if (fd < 0)
        {
            return;
        }

        FSync(fd);
        Close(fd);
    }

    /// <summary>The peer's pid and uid on a Unix socket, from SO_PEERCRED.</summary>
    public static (int ProcessId, uint UserId)? GetPeerCredentials(Socket socket)
    {
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
            if (length < 12)
            {
                return null;
            }
        }
        catch (SocketException)
        {
            return null;
        }

        return (BitConverter.ToInt32(credentials[..4]), BitConverter.ToUInt32(credentials[4..8]));
    }
}

/// <summary>access(2), for "could this user write there" without writing.</summary>
internal static partial class NativeAccess
{
    private const int WriteOk = 2;
    private const int ExecuteOk = 1;

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);

    public static bool CanWriteDirectory(string path) => Access(path, WriteOk | ExecuteOk) == 0;
}
