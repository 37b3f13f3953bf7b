using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>
/// Gets the entries of the daemon's and the monitors' logs as objects, oldest first, merged across files by
/// time. Reads the files in the log directory of wsync.config: it needs no daemon and never starts one.
/// </summary>
[Cmdlet(VerbsCommon.Get, "WsyncLog")]
[OutputType(typeof(LogEntry))]
public sealed class GetWsyncLog : WsyncCmdlet
{
    #region Parameters

    /// <summary>Only entries about these workspaces; wildcards allowed. Workspace objects bind from the pipeline.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[]? Workspace { get; set; }

    /// <summary>Only the last this many entries (after the other filters).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Tail { get; set; }

    /// <summary>Only entries of at least this level (Warning gives warnings, errors and fatal errors).</summary>
    [Parameter]
    public LogLevel Level { get; set; } = LogLevel.Verbose;

    /// <summary>Only entries written at or after this time.</summary>
    [Parameter]
    public DateTime Since { get; set; }

    #endregion

    /// <summary>The workspace names of every input; the logs are read once, in EndProcessing, so that -Tail and the time order span them all.</summary>
    private readonly List<WildcardPattern> patterns = [];

    /// <summary>An input without -Workspace: every entry is wanted.</summary>
    private bool everyWorkspace;

    #region Method overrides

    protected override void ProcessRecord()
    {
        if (Workspace is null || Workspace.Length == 0)
        {
            everyWorkspace = true;
            return;
        }

        patterns.AddRange(Workspace.Select(name => new WildcardPattern(name, WildcardOptions.IgnoreCase)));
    }

    protected override void EndProcessing()
    {
        string directory;
        try
        {
            directory = WsyncConfig.Load(WsyncConfig.ResolveHome()).LogDirectory;
        }
        catch (WsyncConfigException exception)
        {
            ThrowTerminatingError(new ErrorRecord(exception, ErrorIds.ConfigInvalid, ErrorCategory.InvalidData, exception.File));
            return;
        }

        WriteVerbose($"Reading the logs in {directory}.");
        List<LogEntry> all;
        try
        {
            all = LogReader.ReadAll(directory, WriteWarning);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(exception, ErrorIds.LogReadFailed, ErrorCategory.ReadError, directory));
            return;
        }

        var since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? new DateTimeOffset(Since) : DateTimeOffset.MinValue;
        var selected = all.Where(entry =>
            entry.Level >= Level
            && entry.Time >= since
            && (everyWorkspace || (entry.Workspace is { } workspace && patterns.Any(p => p.IsMatch(workspace))))).ToList();

        // -Tail keeps the newest: a simple read-everything-then-take-the-end, as each file is at most 16 MB.
        var first = Tail > 0 ? Math.Max(0, selected.Count - Tail) : 0;
        WriteObject(selected.Skip(first), enumerateCollection: true);
    }

    #endregion
}
