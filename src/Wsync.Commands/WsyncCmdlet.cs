using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Threading.Channels;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>
/// What every wsync cmdlet shares: the daemon connection (started on demand), cancellation on Ctrl+C,
/// waiting on the engine's async calls from the pipeline thread, and reporting failures as ErrorRecords.
/// </summary>
public abstract class WsyncCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource stopping = new();

    /// <summary>The daemon connection of this invocation; null until first used.</summary>
    private IWsyncDaemon? daemon;

    /// <summary>The user answered "Yes to All" to a destructive-operation question in this invocation.</summary>
    private bool yesToAll;

    /// <summary>The user answered "No to All" to a destructive-operation question in this invocation.</summary>
    private bool noToAll;

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken Cancellation => stopping.Token;

    /// <summary>The daemon, started first if none runs.</summary>
    protected IWsyncDaemon Daemon => daemon ??= ConnectToDaemon();

    protected override void StopProcessing() => stopping.Cancel();

    /// <summary>Waits for an engine call on the pipeline thread; Ctrl+C ends the wait at once.</summary>
    protected T Await<T>(Task<T> task)
    {
        try
        {
            return task.WaitAsync(Cancellation).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    protected void Await(Task task)
    {
        try
        {
            task.WaitAsync(Cancellation).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// Runs a call that reports progress, writing each report with Write-Progress from the pipeline
    /// thread (progress arrives on other threads, where PowerShell forbids writing): one activity per
    /// remote, each completed when the call ends, whether it succeeded, failed or was stopped (Ctrl+C).
    /// Ctrl+C ends the wait at once; what the call started goes on in the background.
    /// </summary>
    protected T AwaitWithProgress<T>(Func<IProgress<SyncProgress>, Task<T>> call, string activity)
    {
        var reports = Channel.CreateUnbounded<SyncProgress>(new UnboundedChannelOptions { SingleReader = true });
        var task = call(new ChannelProgress(reports.Writer));
        _ = task.ContinueWith(_ => reports.Writer.TryComplete(), TaskScheduler.Default);
        var activities = new ProgressActivities(activity);
        try
        {
            while (Await(reports.Reader.WaitToReadAsync(Cancellation).AsTask()))
            {
                // Only the newest report of each remote is worth drawing; older ones queued while the host drew.
                var latest = new Dictionary<string, SyncProgress>(StringComparer.Ordinal);
                while (reports.Reader.TryRead(out var report))
                {
                    latest[report.Remote ?? ""] = report;
                }

                foreach (var report in latest.Values)
                {
                    var (record, isNew) = activities.Update(report);
                    if (isNew)
                    {
                        WriteVerbose($"{record.Activity}: under way.");
                    }

                    WriteProgress(record);
                }
            }

            return Await(task);
        }
        finally
        {
            CompleteProgress(activities);
        }
    }

    /// <summary>Writes a verbose message with the time since <paramref name="since"/> ("… in 1.2 s").</summary>
    protected void WriteVerboseTimed(string message, long since) =>
        WriteVerbose($"{message} in {Stopwatch.GetElapsedTime(since).TotalSeconds:0.0} s.");

    /// <summary>Tells, for -Verbose, where each remote of <paramref name="workspace"/> stands after an action.</summary>
    protected void WriteRemoteOutcomes(Workspace workspace)
    {
        if (workspace.State == WorkspaceState.Stopped)
        {
            return; // removed: its remotes are no longer mirrored, and their counts mean nothing now
        }

        foreach (var remote in workspace.Remotes)
        {
            WriteVerbose(DescribeOutcome(remote));
        }
    }

    /// <summary>One line on where a remote stands: its state, what it sent, and its error if any.</summary>
    protected static string DescribeOutcome(Remote remote) =>
        $"Remote '{remote.Name}' of '{remote.Workspace}' ({remote.Destination}): {remote.State}; " +
        $"sent so far: {remote.FilesSent:N0} file(s), {FormatBytes(remote.BytesSent)}; pending: {remote.PendingChanges:N0} change(s)" +
        (remote.LastError is null ? "." : $"; last error: {remote.LastError}");

    /// <summary>Reports a failure as an ErrorRecord and lets the cmdlet go on with its next input.</summary>
    protected void WriteFailure(Exception exception, object? target)
    {
        if (exception is WsyncException wsync)
        {
            WriteError(new ErrorRecord(wsync, wsync.ErrorId, Map(wsync.Category), wsync.Target ?? target));
        }
        else
        {
            WriteError(new ErrorRecord(exception, "WsyncUnexpectedError", ErrorCategory.NotSpecified, target));
        }
    }

    /// <summary>
    /// Asks whether to go ahead with what the daemon refused as destructive (<paramref name="refusal"/> says
    /// what would be deleted). ShouldContinue, not ShouldProcess: -Confirm:$false does not answer it, only
    /// -Force (which the caller checks first) does. False when declined or when no one can be asked
    /// (pwsh -NonInteractive, a job): the refusal then stands as the error.
    /// </summary>
    protected bool ConfirmDespite(WsyncException refusal, string caption)
    {
        try
        {
            return ShouldContinue(refusal.Message + " Continue?", caption, ref yesToAll, ref noToAll);
        }
        catch (Exception exception) when (exception is PSInvalidOperationException or HostException or NotImplementedException)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="action"/>, reporting a wsync failure as an ErrorRecord. False when it failed.</summary>
    protected bool Try(Action action, object? target)
    {
        try
        {
            action();
            return true;
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, target);
            return false;
        }
    }

    /// <summary>
    /// The items whose name matches any of <paramref name="patterns"/> (wildcards allowed), each once.
    /// A literal name that matches nothing is reported with <paramref name="notFoundErrorId"/>; a pattern is not.
    /// </summary>
    protected List<T> SelectByName<T>(IEnumerable<T> items, Func<T, string> name, string[]? patterns, string notFoundErrorId, string what)
    {
        var all = items.ToList();
        if (patterns is null || patterns.Length == 0)
        {
            return all;
        }

        var selected = new List<T>();
        foreach (var pattern in patterns)
        {
            var wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
            var matcher = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            var matches = all.Where(item => wildcard ? matcher.IsMatch(name(item)) : name(item).Equals(pattern, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matches.Count == 0 && !wildcard)
            {
                WriteFailure(new WsyncException(notFoundErrorId, WsyncErrorCategory.ObjectNotFound, pattern,
                    $"No {what} is named '{pattern}'."), pattern);
            }

            selected.AddRange(matches.Where(m => !selected.Contains(m)));
        }

        return selected;
    }

    /// <summary>Resolves a path the user typed against the current PowerShell location (it need not exist).</summary>
    protected string ResolvePath(string path) => GetUnresolvedProviderPathFromPSPath(path);

    protected static ErrorCategory Map(WsyncErrorCategory category) =>
        Enum.TryParse<ErrorCategory>(category.ToString(), out var mapped) ? mapped : ErrorCategory.NotSpecified;

    private IWsyncDaemon ConnectToDaemon()
    {
        var notes = new List<string>();
        try
        {
            return Await(DaemonClient.ConnectAsync(autoStart: true, notes, Cancellation));
        }
        finally
        {
            foreach (var note in notes)
            {
                WriteVerbose(note);
            }
        }
    }

    /// <summary>
    /// Completes every activity shown. Once the pipeline is stopping (Ctrl+C), PowerShell refuses every
    /// write, progress included; the host then clears the progress display as the pipeline ends.
    /// </summary>
    private void CompleteProgress(ProgressActivities activities)
    {
        foreach (var (record, summary) in activities.Complete())
        {
            try
            {
                WriteProgress(record);
                WriteVerbose(summary);
            }
            catch (PipelineStoppedException)
            {
                return;
            }
        }
    }

    protected static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>
    /// The progress activities of one call, one per remote (numbered in the order they first report),
    /// each with what it needs for a transfer rate and a time estimate. Used by the pipeline thread only.
    /// </summary>
    private sealed class ProgressActivities(string activity)
    {
        /// <summary>
        /// A rate measured over less than this is mostly start-up (ssh, the file list) and would promise
        /// far too much or too little: until then the record gives no time estimate.
        /// </summary>
        private static readonly TimeSpan MinimumRateWindow = TimeSpan.FromSeconds(1);

        /// <summary>Each remote's activity, keyed by remote name, in the order of first report.</summary>
        private readonly Dictionary<string, Activity> shown = new(StringComparer.Ordinal);

        /// <summary>The record for <paramref name="progress"/>, and whether its remote had none yet.</summary>
        public (ProgressRecord Record, bool IsNew) Update(SyncProgress progress)
        {
            var key = progress.Remote ?? "";
            var isNew = !shown.TryGetValue(key, out var current);
            if (current is null)
            {
                current = new Activity(shown.Count + 1, progress.Remote is null ? activity : $"{activity} → {progress.Remote}", Stopwatch.GetTimestamp(), progress.BytesDone);
                shown.Add(key, current);
            }

            // rsync counts files only on the line that ends a file; lines in between carry bytes alone.
            if (progress.FilesTotal == 0 && current.Last is { FilesTotal: > 0 } earlier)
            {
                progress = progress with { FilesDone = earlier.FilesDone, FilesTotal = earlier.FilesTotal };
            }

            current.Last = progress;
            var elapsed = Stopwatch.GetElapsedTime(current.Started);
            var sent = progress.BytesDone - current.BytesAtStart;
            var rate = elapsed >= MinimumRateWindow && sent > 0 ? sent / elapsed.TotalSeconds : 0;
            var files = progress.FilesTotal > 0 ? $"{progress.FilesDone:N0} of {progress.FilesTotal:N0} files, " : "";
            var bytes = progress.BytesTotal > 0 ? $"{FormatBytes(progress.BytesDone)} of {FormatBytes(progress.BytesTotal)}" : FormatBytes(progress.BytesDone);
            var status = files + bytes;
            var record = new ProgressRecord(current.Id, current.Title, status)
            {
                PercentComplete = Math.Clamp(progress.Percent, -1, 100),
                SecondsRemaining = rate > 0 && progress.BytesTotal >= progress.BytesDone
                    ? (int)Math.Min(int.MaxValue, Math.Ceiling((progress.BytesTotal - progress.BytesDone) / rate))
                    : -1,
            };
            if (rate > 0)
            {
                record.CurrentOperation = $"{FormatBytes((long)rate)}/s";
            }

            return (record, isNew);
        }

        /// <summary>A Completed record for every activity shown, with a one-line summary of each for -Verbose.</summary>
        public IEnumerable<(ProgressRecord Record, string Summary)> Complete()
        {
            foreach (var current in shown.Values)
            {
                var last = current.Last!;
                var record = new ProgressRecord(current.Id, current.Title, "Done") { RecordType = ProgressRecordType.Completed, PercentComplete = 100 };
                yield return (record, $"{current.Title}: ended at {last.Percent}% ({FormatBytes(last.BytesDone)}) after {Stopwatch.GetElapsedTime(current.Started).TotalSeconds:0.0} s.");
            }
        }

        private sealed class Activity(int id, string title, long started, long bytesAtStart)
        {
            public int Id { get; } = id;

            public string Title { get; } = title;

            /// <summary>When the first report came (Stopwatch ticks): the rate counts from there.</summary>
            public long Started { get; } = started;

            /// <summary>Bytes already done at the first report, not sent at the measured rate.</summary>
            public long BytesAtStart { get; } = bytesAtStart;

            public SyncProgress? Last { get; set; }
        }
    }

    private sealed class ChannelProgress(ChannelWriter<SyncProgress> writer) : IProgress<SyncProgress>
    {
        public void Report(SyncProgress value) => writer.TryWrite(value);
    }
}

/// <summary>Lets a workspace or remote object stand where a workspace name is expected (pipelines).</summary>
public sealed class WorkspaceNameTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData) => inputData switch
    {
        PSObject wrapped => Transform(engineIntrinsics, wrapped.BaseObject),
        Workspace workspace => workspace.Name,
        Remote remote => remote.Workspace,
        string => inputData,
        IEnumerable many => many.Cast<object?>().Select(item => Transform(engineIntrinsics, item)).ToArray(),
        _ => inputData,
    };
}
