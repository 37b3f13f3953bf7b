using System.Buffers.Binary;
using System.Text;
using Wsync.Platform;

namespace Wsync.Transfer;

/// <summary>What a frame carries. Requests go from the monitor to the agent; every request after Hello gets exactly one reply, in order.</summary>
public enum FrameKind : byte
{
    /// <summary>Protocol version (u16), the root (path): the first frame the monitor sends.</summary>
    Hello = 1,

    /// <summary>Path, mode (u32), modification time (i64 seconds, u32 nanoseconds), content (u32 length, bytes).</summary>
    WriteFile = 2,

    /// <summary>Path, mode, modification time.</summary>
    MakeDirectory = 3,

    /// <summary>Path, target (path bytes, never followed), modification time.</summary>
    Symlink = 4,

    /// <summary>Path, whether a directory goes with what it holds (u8; if not, only an empty one does); nothing there is not an error.</summary>
    Remove = 5,

    /// <summary>Old path, new path.</summary>
    Rename = 6,

    /// <summary>Path ("" is the root), whether a mode follows (u8), mode, modification time.</summary>
    SetAttributes = 7,

    /// <summary>Nothing: replied to once everything sent before it is applied.</summary>
    Barrier = 8,

    /// <summary>
    /// An rsync starts (u8 1) or stopped (0) writing under the root: while any does, what changes is collected,
    /// not reported, and once none does each changed path goes out as <see cref="Drift"/> for the monitor to compare.
    /// </summary>
    RsyncRunning = 9,

    /// <summary>The agent's answer to Hello: protocol version (u16), the agent's version (text).</summary>
    Welcome = 64,

    /// <summary>The request was applied.</summary>
    Done = 65,

    /// <summary>The request could not be applied (errno i32, text); the session goes on.</summary>
    Failed = 66,

    /// <summary>The request broke the protocol or the confinement (text); the agent ends the session after it.</summary>
    Refused = 67,

    /// <summary>
    /// Not a reply, and sent whenever it happens: something the agent did not write changed under the root
    /// (see <see cref="DriftEntry"/>). The monitor compares it with the workspace; it is never acknowledged.
    /// </summary>
    Drift = 68,
}

/// <summary>A frame that is malformed, oversized or cut short: the session it came on cannot go on.</summary>
public sealed class FrameException(string message) : IOException(message);

/// <summary>One frame as read: its kind and its body.</summary>
public readonly record struct Frame(FrameKind Kind, ReadOnlyMemory<byte> Body)
{
    public FrameFields Fields => new(Kind, Body.Span);
}

/// <summary>
/// The fields of a frame's body, read in order; a field that runs past the body, or bytes left over at
/// <see cref="End"/>, is a <see cref="FrameException"/>. Integers are big-endian; a path is a u16 length
/// and its bytes (a Linux name, not always UTF-8: see <see cref="LinuxPath"/>).
/// </summary>
public ref struct FrameFields(FrameKind kind, ReadOnlySpan<byte> body)
{
    private readonly FrameKind kind = kind;
    private ReadOnlySpan<byte> rest = body;

    public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public int I32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long I64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public byte U8() => Take(1)[0];

    /// <summary>A path or name: exactly the bytes sent, as a <see cref="LinuxPath"/> string.</summary>
    public string Path() => LinuxPath.FromBytes(Take(U16()));

    public string Text() => Encoding.UTF8.GetString(Take(U16()));

    public ReadOnlySpan<byte> Content() => Take(checked((int)U32()));

    public readonly void End()
    {
        if (!rest.IsEmpty)
        {
            throw new FrameException($"A {kind} frame has {rest.Length} bytes past its last field");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > rest.Length)
        {
            throw new FrameException($"A {kind} frame ends inside a field ({count} bytes wanted, {rest.Length} left)");
        }

        var taken = rest[..count];
        rest = rest[count..];
        return taken;
    }
}

/// <summary>
/// Frames written into a buffer, to be sent in one write: u32 big-endian length (kind and body), the kind
/// (one byte), the body. Each <see cref="Begin"/> is closed by <see cref="End"/>, which fills in the length.
/// </summary>
public sealed class FrameWriter
{
    private byte[] buffer = new byte[4096];
    private int written;
    private int start = -1;

    public ReadOnlyMemory<byte> Written => buffer.AsMemory(0, written);

    /// <summary>Frames written since the last <see cref="Clear"/>.</summary>
    public int Count { get; private set; }

    public FrameWriter Begin(FrameKind kind)
    {
        start = written;
        return U32(0).U8((byte)kind);
    }

    public FrameWriter U8(byte value)
    {
        Space(1)[0] = value;
        return this;
    }

    public FrameWriter U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(Space(2), value);
        return this;
    }

    public FrameWriter U32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Space(4), value);
        return this;
    }

    public FrameWriter I32(int value) => U32(unchecked((uint)value));

    public FrameWriter I64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(Space(8), value);
        return this;
    }

    /// <summary>A path's bytes (see <see cref="LinuxPath"/>), u16-length-prefixed.</summary>
    public FrameWriter Path(string path) => Bytes16(LinuxPath.ToBytes(path));

    /// <summary>Text as UTF-8, cut at 4 KiB.</summary>
    public FrameWriter Text(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return Bytes16(bytes.AsSpan(0, Math.Min(bytes.Length, 4096)));
    }

    public FrameWriter Content(ReadOnlySpan<byte> content)
    {
        U32((uint)content.Length);
        content.CopyTo(Space(content.Length));
        return this;
    }

    /// <summary>Bytes with no length of their own (the handshake's magic, which is not a frame).</summary>
    public FrameWriter Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Space(bytes.Length));
        return this;
    }

    public FrameWriter End()
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(start, 4), (uint)(written - start - 4));
        start = -1;
        Count++;
        return this;
    }

    public void Clear()
    {
        written = 0;
        Count = 0;
    }

    private FrameWriter Bytes16(ReadOnlySpan<byte> bytes)
    {
        U16(checked((ushort)bytes.Length));
        bytes.CopyTo(Space(bytes.Length));
        return this;
    }

    private Span<byte> Space(int count)
    {
        if (written + count > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(written + count, buffer.Length * 2));
        }

        var space = buffer.AsSpan(written, count);
        written += count;
        return space;
    }
}

/// <summary>
/// Frames read from a stream, each checked against a maximum length before any of it is buffered. An end
/// of the stream between frames is a clean end (null); inside one, a <see cref="FrameException"/>.
/// </summary>
public sealed class FrameReader(Stream stream, int maxFrame)
{
    private byte[] buffer = new byte[64 * 1024];
    private int start;
    private int end;

    /// <summary>Whether a whole frame is buffered already, so that the next <see cref="ReadAsync"/> does not wait.</summary>
    public bool HasFrame => end - start >= 4 && end - start >= 4 + (long)BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start, 4));

    /// <summary>
    /// Reads up to and past <paramref name="magic"/>, adding what came before it to <paramref name="noise"/>
    /// (a login shell's output, say: never read as frames). False when the stream ended first, or more than
    /// <paramref name="maxNoise"/> bytes came without it; <paramref name="noise"/> then holds what did come.
    /// </summary>
    public async Task<bool> SkipToMagicAsync(ReadOnlyMemory<byte> magic, int maxNoise, List<byte> noise, CancellationToken cancellationToken)
    {
        while (true)
        {
            var found = buffer.AsSpan(start, end - start).IndexOf(magic.Span);
            if (found >= 0)
            {
                noise.AddRange(buffer.AsSpan(start, found));
                start += found + magic.Length;
                return true;
            }

            // Keep the tail that could be the start of the magic; the rest is noise.
            var keep = Math.Min(end - start, magic.Length - 1);
            noise.AddRange(buffer.AsSpan(start, end - start - keep));
            start = end - keep;
            if (noise.Count > maxNoise || !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                noise.AddRange(buffer.AsSpan(start, end - start));
                start = end;
                return false;
            }
        }
    }

    /// <summary>The next frame; null at a clean end of the stream.</summary>
    /// <exception cref="FrameException">The frame is empty, longer than the maximum, or cut short.</exception>
    public async Task<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        if (end - start < 4 && !await FillToAsync(4, cancellationToken).ConfigureAwait(false))
        {
            return end == start ? null : throw new FrameException($"The stream ended inside a frame's length ({end - start} of 4 bytes)");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start, 4));
        if (length == 0 || length > maxFrame)
        {
            throw new FrameException($"A frame of {length} bytes is outside the limits (1 to {maxFrame})");
        }

        var total = 4 + (int)length;
        if (end - start < total && !await FillToAsync(total, cancellationToken).ConfigureAwait(false))
        {
            throw new FrameException($"The stream ended inside a frame ({end - start - 4} of {length} bytes)");
        }

        var kind = (FrameKind)buffer[start + 4];
        var body = buffer.AsMemory(start + 5, total - 5).ToArray();
        start += total;
        return new Frame(kind, body);
    }

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered; false when the stream ends first.</summary>
    private async Task<bool> FillToAsync(int count, CancellationToken cancellationToken)
    {
        if (buffer.Length < count)
        {
            var larger = new byte[Math.Max(count, buffer.Length * 2)];
            buffer.AsSpan(start, end - start).CopyTo(larger);
            (buffer, end, start) = (larger, end - start, 0);
        }

        while (end - start < count)
        {
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        return true;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (start > 0 && (end == buffer.Length || start == end))
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            (end, start) = (end - start, 0);
        }

        if (end == buffer.Length)
        {
            Array.Resize(ref buffer, buffer.Length * 2);
        }

        var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
        end += read;
        return read > 0;
    }
}
