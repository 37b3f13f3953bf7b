using System.Buffers;
using System.Text;

namespace Wsync.Platform;

/// <summary>
/// A Linux file name is bytes (anything but '/' and NUL), not always UTF-8; .NET strings are UTF-16.
/// Decoding with <see cref="Encoding.UTF8"/> turns each invalid byte into U+FFFD, and the name can no
/// longer be opened, watched or handed to rsync. Here each byte that is not part of valid UTF-8 becomes
/// the lone surrogate U+DC80..U+DCFF (Python's "surrogateescape"), which valid UTF-8 never decodes to,
/// so bytes → string → bytes is exact for every name. Such strings must reach the kernel and rsync only
/// through <see cref="ToBytes"/>: System.IO, process arguments and Encoding.UTF8 would replace them.
/// </summary>
public static class LinuxPath
{
    private const char EscapeBase = '\uDC00';

    /// <summary>The name or path <paramref name="bytes"/>, every byte kept (see the class).</summary>
    public static string FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return Encoding.UTF8.GetString(bytes);
        }

        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
                continue;
            }

            text.Append((char)(EscapeBase + bytes[0]));
            bytes = bytes[1..];
        }

        return text.ToString();
    }

    /// <summary>The bytes <paramref name="path"/> stands for: UTF-8, with each escaped byte restored.</summary>
    public static byte[] ToBytes(string path)
    {
        if (IsPlain(path))
        {
            return Encoding.UTF8.GetBytes(path);
        }

        var bytes = new ArrayBufferWriter<byte>(path.Length + 8);
        Append(bytes, path);
        return bytes.WrittenSpan.ToArray();
    }

    /// <summary>Writes the bytes of <paramref name="path"/> to <paramref name="output"/>.</summary>
    public static void Append(IBufferWriter<byte> output, string path)
    {
        if (IsPlain(path))
        {
            Encoding.UTF8.GetBytes(path, output);
            return;
        }

        Span<byte> one = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            if (IsEscape(path[i]))
            {
                output.Write([(byte)(path[i] - EscapeBase)]);
                continue;
            }

            if (!Rune.TryGetRuneAt(path, i, out var rune))
            {
                throw new ArgumentException($"The path holds an unpaired surrogate U+{(int)path[i]:X4} that no file name's bytes decode to.", nameof(path));
            }

            var written = rune.EncodeToUtf8(one);
            output.Write(one[..written]);
            i += rune.Utf16SequenceLength - 1;
        }
    }

    /// <summary>The number of bytes of <paramref name="path"/>.</summary>
    public static int ByteCount(string path) => IsPlain(path) ? Encoding.UTF8.GetByteCount(path) : ToBytes(path).Length;

    /// <summary>
    /// True when <paramref name="path"/> is plain UTF-8 text: System.IO, process arguments and logs carry it
    /// unchanged. False when it holds bytes that are not UTF-8 (escaped, see the class).
    /// </summary>
    public static bool IsPlain(string path)
    {
        foreach (var c in path)
        {
            if (char.IsSurrogate(c))
            {
                return !HasEscapes(path);
            }
        }

        return true;
    }

    /// <summary>
    /// <paramref name="path"/> for people: bytes that are not UTF-8 shown as \xNN, so a log line or an
    /// error names the file unambiguously.
    /// </summary>
    public static string Display(string path)
    {
        if (!HasEscapes(path))
        {
            return path;
        }

        var text = new StringBuilder(path.Length + 16);
        foreach (var c in path)
        {
            if (IsEscape(c))
            {
                text.Append("\\x").Append(((int)(c - EscapeBase)).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private static bool HasEscapes(string path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            if (char.IsHighSurrogate(path[i]) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                i++;
                continue;
            }

            if (IsEscape(path[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Only U+DC80..U+DCFF are escapes: bytes below 0x80 are ASCII, always valid UTF-8.</summary>
    private static bool IsEscape(char c) => c is >= '\uDC80' and <= '\uDCFF';
}
