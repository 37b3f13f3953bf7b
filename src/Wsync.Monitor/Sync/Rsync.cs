using System.Diagnostics;
using System.Globalization;
using System.Text;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>Runs rsync from an argument vector (never a shell) and reads its outcome.</summary>
internal static class Rsync
{
    /// <summary>
    /// rsync's exit codes, classified (rsync(1) EXIT VALUES). 24 (files vanished) is normal while files change:
    /// their own events follow. 23 (a partial transfer: a full disk, a permission denied on the remote) passes
    /// once someone fixes it. 255 is ssh's own failure.
    /// </summary>
    private static readonly Dictionary<int, (SendOutcome Outcome, string Meaning)> ExitCodes = new()
    {
        [0] = (SendOutcome.Success, "success"),
        [1] = (SendOutcome.Refused, "syntax or usage error"),
        [2] = (SendOutcome.Refused, "protocol incompatibility"),
        [3] = (SendOutcome.Transient, "errors selecting input/output files or directories"),
        [4] = (SendOutcome.Refused, "requested action not supported"),
        [5] = (SendOutcome.Transient, "error starting client-server protocol"),
        [10] = (SendOutcome.Transient, "error in socket I/O"),
        [11] = (SendOutcome.Transient, "error in file I/O"),
        [12] = (SendOutcome.Transient, "error in rsync protocol data stream"),
        [13] = (SendOutcome.Transient, "errors with program diagnostics"),
        [14] = (SendOutcome.Transient, "error in IPC code"),
        [20] = (SendOutcome.Transient, "received SIGUSR1 or SIGINT"),
        [21] = (SendOutcome.Transient, "some error returned by waitpid()"),
        [22] = (SendOutcome.Transient, "error allocating core memory buffers"),
        [23] = (SendOutcome.Partial, "partial transfer due to error"),
        [24] = (SendOutcome.Success, "some source files vanished"),
        [25] = (SendOutcome.Refused, "the --max-delete limit stopped deletions"),
        [30] = (SendOutcome.Transient, "timeout in data send/receive"),
        [35] = (SendOutcome.Transient, "timeout waiting for daemon connection"),
        [255] = (SendOutcome.Transient, "ssh failed: connection lost or refused"),
    };

    /// <summary>How often streaming progress is read and reported: a progress bar needs no more.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// rsync's stdout pipe while progress is read: 1 MiB (Linux's default pipe-max-size) holds 0.7 s of
    /// progress lines at 17,000 files/s, so rsync never waits for the paced reader.
    /// </summary>
    private const int PipeBytes = 1 << 20;

    /// <summary>A read at least this large means lines are streaming: the next read waits <see cref="ProgressInterval"/>.</summary>
    private const int StreamingBytes = 4096;

    /// <summary>What a finished run means: its exit code classified, its statistics, and in words what happened.</summary>
    public static SendResult Result(int exitCode, long bytes, long files, string errors)
    {
        var (outcome, meaning) = ExitCodes.TryGetValue(exitCode, out var entry) ? entry : (SendOutcome.Transient, "unknown");
        return new SendResult(outcome, bytes, files, $"rsync exit code {exitCode} ({meaning}){(errors.Length > 0 ? ": " + errors : "")}");
    }

    /// <summary>Runs rsync; <paramref name="input"/> goes to its stdin (the --files-from list).</summary>
    public static async Task<SendResult> RunAsync(
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
    /// The progress to show after <paramref name="previous"/>: <paramref name="next"/>, keeping the last file counts
    /// when its line had none (rsync adds "(xfr#…, to-chk=…)" only as a file is done; the lines between, while a
    /// file is sent or the scan goes on, carry bytes alone — through a reconcile with little to send, nearly all).
    /// </summary>
    public static SyncProgress Continue(SyncProgress? previous, SyncProgress next) =>
        next.FilesTotal == 0 && previous is { FilesTotal: > 0 } ? next with { FilesDone = previous.FilesDone, FilesTotal = previous.FilesTotal } : next;

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
    /// <summary>
    /// The niceness of a background rsync (the bulk lane's) at both ends: a 2 GB transfer keeps four processes
    /// busy (rsync at each end, ssh and sshd), and on a small machine the small changes beside it wait for a core.
    /// </summary>
    public const string BackgroundNiceness = "10";

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

    /// <param name="background">Run it at a lower priority (nice 10, and its ssh with it), so that it yields the CPU to small changes.</param>
    public static RsyncProcess Start(IReadOnlyList<string> arguments, bool takesInput, Action<string>? progressLine, bool background = false)
    {
        var start = new ProcessStartInfo(background ? "nice" : "rsync")
        {
            RedirectStandardInput = takesInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in background ? ["-n", BackgroundNiceness, "rsync", .. arguments] : arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start rsync");
        return new RsyncProcess(arguments, process, progressLine);
    }

    /// <summary>Hands over <paramref name="input"/> (closing stdin) and waits for the outcome.</summary>
    public async Task<SendResult> RunAsync(byte[]? input, CancellationToken cancellationToken)
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
