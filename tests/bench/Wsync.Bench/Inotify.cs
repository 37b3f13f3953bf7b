using System.Runtime.InteropServices;
using System.Text;

namespace Wsync.Bench;

/// <summary>One inotify descriptor of the bench's landing probes: watches, waits and parses events.</summary>
internal sealed class Inotify : IDisposable
{
    /// <summary>struct inotify_event: wd, mask, cookie, len, then len bytes of NUL-padded name.</summary>
    private const int HeaderBytes = 16;

    private readonly int fd;
    private readonly byte[] buffer;

    public Inotify(int bufferBytes = 64 * 1024)
    {
        fd = Native.InotifyInit(Native.InNonBlock | Native.InCloseOnExec);
        if (fd < 0)
        {
            throw new InvalidOperationException($"inotify_init1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        buffer = new byte[bufferBytes];
    }

    /// <summary>Watches <paramref name="directory"/> and returns its watch descriptor.</summary>
    public int Watch(string directory, uint mask)
    {
        var wd = Native.InotifyAddWatch(fd, directory, mask);
        if (wd < 0)
        {
            throw new InvalidOperationException($"inotify_add_watch {directory} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return wd;
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for events; true when some are ready.</summary>
    public unsafe bool Wait(int timeoutMilliseconds)
    {
        var poll = new Native.PollFd { Fd = fd, Events = 1 };
        return Native.Poll(&poll, 1, timeoutMilliseconds) > 0;
    }

    /// <summary>The events ready now (none if there are none: the descriptor does not block).</summary>
    public unsafe List<Event> Read()
    {
        nint length;
        fixed (byte* start = buffer)
        {
            length = Native.Read(fd, start, buffer.Length);
        }

        var events = new List<Event>();
        for (var offset = 0; offset < length;)
        {
            var nameLength = BitConverter.ToInt32(buffer, offset + 12);
            events.Add(new Event(
                BitConverter.ToInt32(buffer, offset),
                BitConverter.ToUInt32(buffer, offset + 4),
                Encoding.UTF8.GetString(buffer, offset + HeaderBytes, nameLength).TrimEnd('\0')));
            offset += HeaderBytes + nameLength;
        }

        return events;
    }

    public void Dispose() => Native.Close(fd);

    /// <summary>One event: the watch it came from, what happened, and the entry's name ("" for the directory itself).</summary>
    public readonly record struct Event(int Wd, uint Mask, string Name);
}
