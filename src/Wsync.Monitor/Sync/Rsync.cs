using System.Diagnostics;
using System.Globalization;
using System.Text;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>What a finished rsync run means for the loop.</summary>
internal enum RsyncOutcome
{
    /// <summary>Done: the listed paths are right on the remote.</summary>
    Success,

    /// <summary>Some files failed (23: a full disk, a permission denied on the remote): Retrying, with backoff, until fixed.</summary>
    Partial,

    /// <summary>The connection or the remote end failed: reconnect and retry with backoff.</summary>
    Transient,

    /// <summary>Retrying cannot help (usage, protocol incompatibility, unsupported option).</summary>
    Permanent,
}

internal sealed record RsyncResult(int ExitCode, RsyncOutcome Outcome, long BytesSent, long FilesTransferred, string Errors)
{
    public string Describe() => $"rsync exit code {ExitCode} ({Rsync.Meaning(ExitCode)}){(Errors.Length > 0 ? ": " + Errors : "")}";
}

/// <summary>Runs rsync from an argument vector (never a shell) and reads its outcome.</summary>
internal static class Rsync
{
    /// <summary>
    /// rsync's exit codes, classified (NOTES.md; rsync(1) EXIT VALUES). 24 (files vanished) is normal
    /// while files change: their own events follow. 255 is ssh's own failure.
    /// </summary>
    private static readonly Dictionary<int, (RsyncOutcome Outcome, string Meaning)> ExitCodes = new()
    {
        [0] = (RsyncOutcome.Success, "success"),
        [1] = (RsyncOutcome.Permanent, "syntax or usage error"),
        [2] = (RsyncOutcome.Permanent, "protocol incompatibility"),
        [3] = (RsyncOutcome.Transient, "errors selecting input/output files or directories"),
        [4] = (RsyncOutcome.Permanent, "requested action not supported"),
        [5] = (RsyncOutcome.Transient, "error starting client-server protocol"),
        [10] = (RsyncOutcome.Transient, "error in socket I/O"),
        [11] = (RsyncOutcome.Transient, "error in file I/O"),
        [12] = (RsyncOutcome.Transient, "error in rsync protocol data stream"),
        [13] = (RsyncOutcome.Transient, "errors with program diagnostics"),
        [14] = (RsyncOutcome.Transient, "error in IPC code"),
        [20] = (RsyncOutcome.Transient, "received SIGUSR1 or SIGINT"),
        [21] = (RsyncOutcome.Transient, "some error returned by waitpid()"),
        [22] = (RsyncOutcome.Transient, "error allocating core memory buffers"),
        [23] = (RsyncOutcome.Partial, "partial transfer due to error"),
        [24] = (RsyncOutcome.Success, "some source files vanished"),
        [25] = (RsyncOutcome.Permanent, "the --max-delete limit stopped deletions"),
        [30] = (RsyncOutcome.Transient, "timeout in data send/receive"),
        [35] = (RsyncOutcome.Transient, "timeout waiting for daemon connection"),
        [255] = (RsyncOutcome.Transient, "ssh failed: connection lost or refused"),
    };

    /// <summary>rsync's I/O timeout: a connection silent this long fails (exit 30) rather than hanging.</summary>
    public const int IoTimeoutSeconds = 60;

    /// <summary>How often streaming progress is read and reported: a progress bar needs no more.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// rsync's stdout pipe while progress is read: 1 MiB (Linux's default pipe-max-size) holds 0.7 s of
    /// progress lines at 17,000 files/s, so rsync never waits for the paced reader.
    /// </summary>
    private const int PipeBytes = 1 << 20;

    /// <summary>A read at least this large means lines are streaming: the next read waits <see cref="ProgressInterval"/>.</summary>
    private const int StreamingBytes = 4096;

    public static RsyncResult Result(int exitCode, long bytes, long files, string errors) =>
        new(exitCode, ExitCodes.TryGetValue(exitCode, out var entry) ? entry.Outcome : RsyncOutcome.Transient, bytes, files, errors);

    public static string Meaning(int exitCode) => ExitCodes.TryGetValue(exitCode, out var entry) ? entry.Meaning : "unknown";

    /// <summary>
    /// The options every transfer shares: recurse, links as links, permissions, times, holes; mirror deletions.
    /// Not -H: rsync links only names one run sees together, so incremental batches would link some names and
    /// copy others; every name is its own file on a remote instead (see TreeWatcher.NoteInPlaceChange).
    /// </summary>
    public static IEnumerable<string> CommonArguments()
    {
        yield return "-rlpt";
        yield return "-S"; // --sparse: holes stay holes (a 64 MB sparse file does not take 64 MB on the remote)
        yield return "--delete";
        yield return "--force";
        yield return "-s"; // --secluded-args (--protect-args before 3.2.4): file names never meet the remote shell
        yield return "--modify-window=-1"; // compare nanoseconds: the default quick check sees only whole seconds
        yield return $"--timeout={IoTimeoutSeconds}";
        yield return "--stats";
    }

    /// <summary>Runs rsync; <paramref name="input"/> goes to its stdin (the --files-from list).</summary>
    public static async Task<RsyncResult> RunAsync(
        IReadOnlyList<string> arguments,
        byte[]? input,
        Action<string>? progressLine,
        CancellationToken cancellationToken)
    {
        using var process = RsyncProcess.Start(arguments, input is not null, progressLine);
        return await process.RunAsync(input, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads stdout for its statistics and, given <paramref name="progressLine"/>, its progress.
    /// --info=progress2 writes a line per file (8 MB for 100,000 files). Read asynchronously, every one of
    /// those writes wakes the runtime's epoll thread and a pool thread (edge-triggered: even while no read
    /// is pending), which cost the monitor 2.5 s of CPU per 100,000 files, taken from the rsync it watches.
    /// So progress is read by blocking reads on a thread of its own, <see cref="ProgressInterval"/> apart
    /// while lines stream, each taking what piled up in the pipe (made large enough to hold it); only the
    /// newest progress line of each read becomes a string and reaches <paramref name="progressLine"/>.
    /// The pause ends early when <paramref name="exited"/> completes, so the end is read at once.
    /// </summary>
    internal static Task<(long Bytes, long Files)> ReadOutputAsync(Stream output, Action<string>? progressLine, Task exited)
    {
        if (progressLine is null)
        {
            return ReadStatisticsAsync(output);
        }

        Pipes.TryEnlarge(output, PipeBytes);
        return Task.Factory.StartNew(() => ReadWithProgress(output, progressLine, exited), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static async Task<(long Bytes, long Files)> ReadStatisticsAsync(Stream output)
    {
        var parser = new OutputParser();
        var buffer = new byte[4096];
        int read;
        while ((read = await output.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            parser.Feed(buffer.AsSpan(0, read));
        }

        return (parser.BytesSent, parser.FilesTransferred);
    }

    private static (long Bytes, long Files) ReadWithProgress(Stream output, Action<string> progressLine, Task exited)
    {
        var parser = new OutputParser();
        var buffer = new byte[PipeBytes];
        int read;
        while ((read = output.Read(buffer)) > 0)
        {
            parser.Feed(buffer.AsSpan(0, read));
            if (parser.TakeProgress() is { } line)
            {
                progressLine(line);
            }

            if (read >= StreamingBytes)
            {
                ((IAsyncResult)exited).AsyncWaitHandle.WaitOne(ProgressInterval); // never throws, unlike Task.Wait
            }
        }

        return (parser.BytesSent, parser.FilesTransferred);
    }

    internal static async Task<string> ReadBoundedAsync(StreamReader reader, int limit)
    {
        var text = new StringBuilder();
        var buffer = new char[1024];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            if (text.Length < limit)
            {
                text.Append(buffer, 0, Math.Min(read, limit - text.Length));
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Reads an --info=progress2 line: "1,234,567  45%  12.34MB/s  0:00:01 (xfr#12, to-chk=100/200)".
    /// </summary>
    public static SyncProgress? ParseProgress(string line, string remote)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !parts[1].EndsWith('%') ||
            !long.TryParse(parts[0].Replace(",", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ||
            !int.TryParse(parts[1].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var percent))
        {
            return null;
        }

        long filesDone = 0;
        long filesTotal = 0;
        var check = line.IndexOf("to-chk=", StringComparison.Ordinal);
        if (check < 0)
        {
            check = line.IndexOf("ir-chk=", StringComparison.Ordinal);
        }

        if (check >= 0)
        {
            var counts = line[(check + 7)..].TrimEnd(')').Split('/');
            if (counts.Length == 2 &&
                long.TryParse(counts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var left) &&
                long.TryParse(counts[1], NumberStyles.None, CultureInfo.InvariantCulture, out filesTotal))
            {
                filesDone = filesTotal - left;
            }
        }

        return new SyncProgress
        {
            Remote = remote,
            BytesDone = bytes,
            BytesTotal = percent > 0 ? bytes * 100 / percent : 0,
            FilesDone = filesDone,
            FilesTotal = filesTotal,
            Percent = Math.Clamp(percent, 0, 100),
        };
    }
}

/// <summary>
/// Splits rsync's stdout into lines at '\r' and '\n' (progress lines end in '\r') and keeps the statistics
/// and the newest progress line; a line may span feeds.
/// </summary>
internal sealed class OutputParser
{
    private List<byte> line = new(256);
    private List<byte> lastProgress = new(256);

    public long BytesSent { get; private set; }

    public long FilesTransferred { get; private set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        foreach (var c in data)
        {
            if (c is not ((byte)'\r' or (byte)'\n'))
            {
                line.Add(c);
                continue;
            }

            if (line.Count == 0)
            {
                continue;
            }

            // Progress lines start with the right-aligned byte count; the statistics with a letter.
            if (line[0] == (byte)' ')
            {
                (lastProgress, line) = (line, lastProgress);
                line.Clear();
                continue;
            }

            var text = Encoding.UTF8.GetString([.. line]);
            line.Clear();
            if (TryStatistic(text, "Total bytes sent:", out var value))
            {
                BytesSent = value;
            }
            else if (TryStatistic(text, "Number of regular files transferred:", out value))
            {
                FilesTransferred = value;
            }
        }
    }

    /// <summary>The newest progress line since the last call, or null.</summary>
    public string? TakeProgress()
    {
        if (lastProgress.Count == 0)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString([.. lastProgress]);
        lastProgress.Clear();
        return text;
    }

    private static bool TryStatistic(string line, string label, out long value)
    {
        value = 0;
        if (!line.StartsWith(label, StringComparison.Ordinal))
        {
            return false;
        }

        var digits = line[label.Length..].Trim().Replace(",", "", StringComparison.Ordinal).Split(' ')[0];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>
/// One rsync process, started before its input is known. Started early with --files-from=-, rsync opens
/// its ssh session, starts the remote rsync and negotiates the protocol, then blocks reading the list: a
/// batch handed to such an "armed" process costs only the transfer itself.
/// </summary>
internal sealed class RsyncProcess : IDisposable
{
    private readonly Process process;
    private readonly Task<(long Bytes, long Files)> output;
    private readonly Task<string> errors;

    private RsyncProcess(IReadOnlyList<string> arguments, Process process, Action<string>? progressLine)
    {
        Arguments = arguments;
        this.process = process;
        errors = Rsync.ReadBoundedAsync(process.StandardError, 4096);
        output = Rsync.ReadOutputAsync(process.StandardOutput.BaseStream, progressLine, process.WaitForExitAsync());
    }

    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Exited before its input came (the connection dropped while it waited): not usable.</summary>
    public bool HasExited => process.HasExited;

    public static RsyncProcess Start(IReadOnlyList<string> arguments, bool takesInput, Action<string>? progressLine)
    {
        var start = new ProcessStartInfo("rsync")
        {
            RedirectStandardInput = takesInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start rsync");
        return new RsyncProcess(arguments, process, progressLine);
    }

    /// <summary>Hands over <paramref name="input"/> (closing stdin) and waits for the outcome.</summary>
    public async Task<RsyncResult> RunAsync(byte[]? input, CancellationToken cancellationToken)
    {
        try
        {
            if (input is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(input, cancellationToken).ConfigureAwait(false);
                process.StandardInput.Close();
            }

            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException)
        {
            ProcessTree.Kill(process);
            if (exception is OperationCanceledException)
            {
                throw;
            }

            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        var (bytes, files) = await output.ConfigureAwait(false);
        var message = (await errors.ConfigureAwait(false)).Trim();
        return Rsync.Result(process.ExitCode, bytes, files, message);
    }

    /// <summary>Ends the process (an armed one no longer wanted); the remote rsync exits with the connection.</summary>
    public void Dispose()
    {
        if (!process.HasExited)
        {
            ProcessTree.Kill(process);
        }

        process.Dispose();
    }
}

/// <summary>Pipe tuning for rsync's output.</summary>
internal static partial class Pipes
{
    private const int SetPipeSize = 1031; // F_SETPIPE_SZ

    /// <summary>Asks the kernel for a pipe buffer of <paramref name="bytes"/>; a refusal keeps the default (64 KiB), which only slows rsync a little.</summary>
    public static void TryEnlarge(Stream stream, int bytes)
    {
        if (stream is System.IO.Pipes.PipeStream pipe)
        {
            _ = Fcntl((int)pipe.SafePipeHandle.DangerousGetHandle(), SetPipeSize, bytes);
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command, int argument);
}
