using System.Collections;
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
    /// thread (progress arrives on other threads, where PowerShell forbids writing).
    /// </summary>
    protected T AwaitWithProgress<T>(Func<IProgress<SyncProgress>, Task<T>> call, string activity, int activityId = 1)
    {
        var reports = Channel.CreateUnbounded<SyncProgress>(new UnboundedChannelOptions { SingleReader = true });
        var task = call(new ChannelProgress(reports.Writer));
        _ = task.ContinueWith(_ => reports.Writer.TryComplete(), TaskScheduler.Default);
        var shown = false;
        try
        {
            while (Await(reports.Reader.WaitToReadAsync(Cancellation).AsTask()))
            {
                SyncProgress? latest = null;
                while (reports.Reader.TryRead(out var report))
                {
                    latest = report;
                }

                if (latest is not null)
                {
                    WriteProgress(ToProgressRecord(latest, activity, activityId));
                    shown = true;
                }
            }

            return Await(task);
        }
        finally
        {
            if (shown)
            {
                WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
        }
    }

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
        var connected = Await(DaemonClient.ConnectAsync(autoStart: true, notes, Cancellation));
        foreach (var note in notes)
        {
            WriteVerbose(note);
        }

        return connected;
    }

    private static ProgressRecord ToProgressRecord(SyncProgress progress, string activity, int activityId)
    {
        var status = progress.FilesTotal > 0
            ? $"{progress.FilesDone:N0} of {progress.FilesTotal:N0} files, {FormatBytes(progress.BytesDone)} of {FormatBytes(progress.BytesTotal)}"
            : $"{progress.FilesDone:N0} files, {FormatBytes(progress.BytesDone)}";
        return new ProgressRecord(activityId, progress.Remote is null ? activity : $"{activity} → {progress.Remote}", status)
        {
            PercentComplete = Math.Clamp(progress.Percent, -1, 100),
        };
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

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
