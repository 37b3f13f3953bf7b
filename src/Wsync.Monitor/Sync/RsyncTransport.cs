using System.Buffers;
using System.Diagnostics;
using System.Text;
using Serilog;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>
/// The rsync transport: every batch is one rsync run over the destination's <see cref="Endpoint"/> (a local
/// directory, or an ssh ControlMaster), its renames replayed first. While idle it keeps one rsync armed:
/// started with --files-from=-, rsync opens its ssh session, starts the remote rsync and negotiates before it
/// reads its list, so the next batch of files costs only its transfer. Before its first incremental batch it
/// checks once that the remote's rsync deletes with --files-from --delete-missing-args (3.4.3 and some
/// backports do not); if not, every batch is a full reconcile.
/// </summary>
internal sealed class RsyncTransport : ITransport
{
    /// <summary>
    /// The most a batch's paths may take as rsync operands; longer batches go in a --files-from list. Well
    /// under Linux's limit on a command line (ARG_MAX, a quarter of the stack: 2 MiB) and on one argument (128 KiB).
    /// </summary>
    private const long MaxOperandBytes = 64 * 1024;

    private readonly RemoteDefinition definition;
    private readonly string root;
    private readonly Endpoint endpoint;
    private readonly RsyncCommand command;
    private readonly ILogger log;
    private readonly bool background;

    /// <summary>Null until the self-test ran: whether --files-from with --delete-missing-args works against this remote.</summary>
    private bool? incrementalWorks;

    /// <summary>
    /// An rsync started ahead of the next batch, connected and waiting for its list; null when none is armed.
    /// Always the files-only variant: it serves batches of files alone.
    /// </summary>
    private RsyncProcess? armed;

    /// <param name="why">Why rsync carries every change of this remote (shown on the remote object); unused when an <see cref="AgentTransport"/> wraps it.</param>
    /// <param name="background">Send at a lower priority at both ends (the <see cref="BulkLane"/>'s transfers; see <see cref="RsyncProcess.BackgroundNiceness"/>).</param>
    public RsyncTransport(RemoteDefinition definition, string root, Endpoint endpoint, Func<string?> filterFile, string why, ILogger log, bool background = false)
    {
        Current = new TransportStatus(RemoteTransport.Rsync, why);
        this.definition = definition;
        this.root = root;
        this.endpoint = endpoint;
        this.log = log;
        this.background = background;
        IReadOnlyList<string> transport = background && endpoint.RsyncTransport.Count > 0
            ? [.. endpoint.RsyncTransport, $"--rsync-path=nice -n {RsyncProcess.BackgroundNiceness} rsync"]
            : endpoint.RsyncTransport;
        command = new RsyncCommand(root, endpoint.RsyncRoot, transport, filterFile);
    }

    public bool IsConnected => endpoint.IsConnected;

    public TransportStatus Current { get; }

    public bool WantsPreparation => incrementalWorks is null || (incrementalWorks == true && armed is not { HasExited: false });

    public Task ConnectAsync(CancellationToken cancellationToken) => endpoint.ConnectAsync(cancellationToken);

    public async Task InvalidateAsync()
    {
        Disarm();
        await endpoint.InvalidateAsync().ConfigureAwait(false);
    }

    public Task<bool> HasEntriesAsync(CancellationToken cancellationToken) => endpoint.HasEntriesAsync(cancellationToken);

    /// <summary>
    /// Tests the flags (after the first full reconcile rather than before it: attaching waits for no self-test),
    /// then starts the rsync for the next batch of files: its ssh session, remote rsync and protocol handshake
    /// are done before the next change, which costs only its transfer.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        incrementalWorks ??= await SelfTestAsync(cancellationToken).ConfigureAwait(false);
        if (incrementalWorks != true || armed is { HasExited: false })
        {
            return;
        }

        Disarm();
        try
        {
            armed = RsyncProcess.Start(command.Listed(filesOnly: true, sparse: false), takesInput: true, progressLine: null);
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            log.Warning("Could not start rsync ahead of the next change: {Error}", exception.Message);
        }
    }

    /// <summary>No one watches the remote for drift without the agent.</summary>
    public Task HoldDriftAsync(bool held, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether this remote's rsync sends lists incrementally (the self-test, run once); without it every batch is a full reconcile.</summary>
    public async Task<bool> SendsIncrementallyAsync(CancellationToken cancellationToken)
    {
        incrementalWorks ??= await SelfTestAsync(cancellationToken).ConfigureAwait(false);
        return incrementalWorks == true;
    }

    public async Task<SendResult> SendAsync(Batch batch, CancellationToken cancellationToken)
    {
        incrementalWorks ??= await SelfTestAsync(cancellationToken).ConfigureAwait(false);
        if (incrementalWorks == false)
        {
            return await ReconcileAsync(_ => { }, cancellationToken).ConfigureAwait(false);
        }

        await endpoint.MoveAsync(batch.Moves, cancellationToken).ConfigureAwait(false);
        var entries = BatchPaths.Reachable(root, batch.Entries);

        // Files only (no directory to recurse; a directory listed as a path stands for its own attributes): the
        // armed rsync serves them. A batch with trees names them as operands, unless they are too many or a
        // name is not UTF-8 (then a list, which is bytes).
        var filesOnly = entries.All(e => e.Kind == PendingKind.Path && e.Path.Length > 0);
        byte[]? list = null;
        RsyncProcess run;
        if (!filesOnly && entries.Count > 0 && OperandBytes(entries) <= MaxOperandBytes)
        {
            run = RsyncProcess.Start(command.Operands(entries.Select(e => e.Path)), takesInput: false, progressLine: null, background);
        }
        else
        {
            list = ListOf(entries);
            var arguments = command.Listed(filesOnly, sparse: filesOnly && entries.Any(e => Posix.Status(root.TrimEnd('/') + "/" + e.Path).IsSparse));
            if (filesOnly && armed is { HasExited: false } ready && ready.Arguments.SequenceEqual(arguments))
            {
                run = ready;
                armed = null;
            }
            else
            {
                run = RsyncProcess.Start(arguments, takesInput: true, progressLine: null, background);
            }
        }

        log.Debug("Sending {Count} paths ({Moves} renames)", entries.Count, batch.Moves.Count);
        if (log.IsEnabled(Serilog.Events.LogEventLevel.Verbose))
        {
            log.Verbose("Batch {Generation}: renames {Moves}; paths {Paths}", batch.Generation,
                batch.Moves.Select(m => $"{LinuxPath.Display(m.From)} -> {LinuxPath.Display(m.To)}"),
                entries.Select(e => (e.Kind == PendingKind.Tree ? "tree " : "") + LinuxPath.Display(e.Path)));
        }

        var started = Stopwatch.GetTimestamp();
        SendResult result;
        using (run)
        {
            result = await run.RunAsync(list, cancellationToken).ConfigureAwait(false);
            log.Debug("Sent {Count} paths in {Milliseconds:0.0} ms: {Files} files, {Bytes} bytes, {Result}",
                entries.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, result.FilesTransferred, result.BytesSent, result.Description);
        }

        // A list carries the root's attributes ("." is implied); operands carry those of the directories above
        // each path, but not the root's, which a name created, removed or renamed in it changed.
        if (list is null && result.Outcome == SendOutcome.Success && TouchesRoot(batch.Moves, entries)
            && Posix.Status(root) is { Kind: FileKind.Directory } workspaceRoot)
        {
            await endpoint.SetRootTimeAsync(workspaceRoot.ModifiedSeconds, workspaceRoot.ModifiedNanoseconds, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    public async Task<SendResult> ReconcileAsync(Action<SyncProgress> progress, CancellationToken cancellationToken)
    {
        // The filter may have changed (a full reconcile follows every change of it): an armed rsync read the old one.
        Disarm();
        log.Information("Full reconcile to {Destination}", definition.Destination);
        var clock = Stopwatch.StartNew();
        var result = await Rsync.RunAsync(command.Full(), null, line =>
        {
            if (Rsync.ParseProgress(line, definition.Name) is { } parsed)
            {
                progress(parsed);
            }
        }, cancellationToken).ConfigureAwait(false);
        log.Information("Full reconcile to {Destination} ended in {Seconds:0.00} s: {Files} files and {Bytes} bytes sent, {Result}",
            definition.Destination, clock.Elapsed.TotalSeconds, result.FilesTransferred, result.BytesSent, result.Description);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        Disarm();
        await endpoint.DisposeAsync().ConfigureAwait(false);
    }

    private void Disarm()
    {
        armed?.Dispose();
        armed = null;
    }

    private static bool TouchesRoot(IReadOnlyList<PendingMove> moves, List<(string Path, PendingKind Kind)> entries) =>
        entries.Any(e => !e.Path.Contains('/', StringComparison.Ordinal))
        || moves.Any(m => !m.From.Contains('/', StringComparison.Ordinal) || !m.To.Contains('/', StringComparison.Ordinal));

    /// <summary>The entries as a --files-from list: each path's own bytes (not always UTF-8), NUL-terminated.</summary>
    private static byte[] ListOf(List<(string Path, PendingKind Kind)> entries)
    {
        // "./" first: rsync skips --files-from lines that start with ';' or '#' as comments, even with --from0.
        var list = new ArrayBufferWriter<byte>();
        foreach (var (path, _) in entries)
        {
            list.Write(path.Length == 0 ? "."u8 : "./"u8);
            LinuxPath.Append(list, path);
            list.Write("\0"u8);
        }

        return list.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The bytes the entries take as operands; <see cref="long.MaxValue"/> when one is not UTF-8, since a
    /// process argument is always encoded as UTF-8 (such a batch goes as a --files-from list, which is bytes).
    /// </summary>
    private static long OperandBytes(List<(string Path, PendingKind Kind)> entries) =>
        entries.All(e => LinuxPath.IsPlain(e.Path)) ? entries.Sum(e => (long)Encoding.UTF8.GetByteCount(e.Path) + 4) : long.MaxValue;

    /// <summary>
    /// Checks once per remote that rsync's --files-from with --delete-missing-args deletes what it should
    /// (rsync 3.4.3 and some backports break it). If not, every batch becomes a full reconcile.
    /// </summary>
    private async Task<bool> SelfTestAsync(CancellationToken cancellationToken)
    {
        try
        {
            var scratch = await endpoint.CreateScratchAsync(definition.Id, cancellationToken).ConfigureAwait(false);
            if (scratch is null)
            {
                log.Warning("Could not create a scratch directory for the rsync self-test on {Destination}; every change will be sent by a full reconcile", definition.Destination);
                return false;
            }

            DirectoryInfo? empty = null;
            try
            {
                empty = TemporaryDirectory.CreateFresh($"wsync-selftest-src-{definition.Id:n}-");
                var result = await Rsync.RunAsync(command.SelfTest(empty.FullName, scratch.Operand), "./gone\0"u8.ToArray(), null, cancellationToken).ConfigureAwait(false);
                var works = result.Outcome == SendOutcome.Success && await scratch.IsGoneAsync().ConfigureAwait(false);
                if (!works)
                {
                    log.Warning("rsync against {Destination} mishandles --files-from with --delete-missing-args ({Result}); every change will be sent by a full reconcile",
                        definition.Destination, result.Description);
                }

                return works;
            }
            finally
            {
                // However the test ends (the remote detached, the monitor stopping), nothing stays behind.
                await scratch.RemoveAsync().ConfigureAwait(false);
                empty?.Delete(recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            log.Warning("The rsync self-test for {Destination} could not run ({Error}); every change will be sent by a full reconcile",
                definition.Destination, exception.Message);
            return false;
        }
    }
}
