using System.Runtime.InteropServices;

namespace Wsync.Platform;

/// <summary>inotify(7), poll(2) and eventfd(2) through libc: what the watcher needs, nothing more.</summary>
public static unsafe partial class Inotify
{
    public const uint Modify = 0x2;
    public const uint Attrib = 0x4;
    public const uint CloseWrite = 0x8;
    public const uint MovedFrom = 0x40;
    public const uint MovedTo = 0x80;
    public const uint Create = 0x100;
    public const uint Delete = 0x200;
    public const uint DeleteSelf = 0x400;
    public const uint MoveSelf = 0x800;
    public const uint Unmount = 0x2000;
    public const uint QueueOverflow = 0x4000;
    public const uint Ignored = 0x8000;
    public const uint OnlyDirectory = 0x1000000;
    public const uint DontFollow = 0x2000000;
    public const uint ExcludeUnlinked = 0x4000000;
    public const uint IsDirectory = 0x40000000;

    /// <summary>What every directory watch asks for (inotify(7): IN_DONT_FOLLOW, IN_ONLYDIR and IN_EXCL_UNLINK keep a watch on the directory itself).</summary>
    public const uint DirectoryMask = Modify | Attrib | CloseWrite | MovedFrom | MovedTo | Create | Delete | DeleteSelf
        | MoveSelf | OnlyDirectory | DontFollow | ExcludeUnlinked;

    public const int NonBlocking = 0x800;
    public const int CloseOnExec = 0x80000;
    public const int ErrorNoSpace = 28;
    public const int ErrorAgain = 11;
    public const int ErrorInterrupted = 4;
    public const short PollIn = 0x1;

    /// <summary>Size of struct inotify_event without its name.</summary>
    public const int EventHeaderSize = 16;

    /// <summary>One event as read: its watch, mask, rename cookie and name.</summary>
    public readonly record struct Event(int Watch, uint Mask, uint Cookie, string Name);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollDescriptor
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    /// <summary>
    /// Reads every event queued on the non-blocking instance <paramref name="fd"/> (until EAGAIN) into
    /// <paramref name="events"/>, through <paramref name="buffer"/>. A name is bytes (NUL-padded in the event), not always UTF-8: kept exact as a
    /// <see cref="LinuxPath"/> string; "" when the event is about the watched directory itself.
    /// </summary>
    public static void ReadAvailable(int fd, byte[] buffer, List<Event> events)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                var length = Read(fd, start, buffer.Length);
                if (length <= 0)
                {
                    if (length < 0 && Marshal.GetLastPInvokeError() == ErrorInterrupted)
                    {
                        continue;
                    }

                    return; // EAGAIN: the queue is empty
                }

                for (var offset = 0; offset < length;)
                {
                    var nameLength = *(int*)(start + offset + 12);
                    var bytes = new ReadOnlySpan<byte>(start + offset + EventHeaderSize, nameLength);
                    var name = LinuxPath.FromBytes(bytes.IndexOf((byte)0) is var nul and >= 0 ? bytes[..nul] : bytes);
                    events.Add(new Event(*(int*)(start + offset), *(uint*)(start + offset + 4), *(uint*)(start + offset + 8), name));
                    offset += EventHeaderSize + nameLength;
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    public static partial int Init(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true)]
    private static partial int AddWatch(int fd, byte* path, uint mask);

    /// <summary>Watches <paramref name="path"/> by its bytes (a name need not be UTF-8); the watch descriptor, or -1 and errno.</summary>
    public static int AddWatch(int fd, string path, uint mask)
    {
        fixed (byte* name = Posix.Terminated(path))
        {
            return AddWatch(fd, name, mask);
        }
    }

    [LibraryImport("libc", EntryPoint = "inotify_rm_watch", SetLastError = true)]
    public static partial int RemoveWatch(int fd, int watch);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollDescriptor* descriptors, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);
}
