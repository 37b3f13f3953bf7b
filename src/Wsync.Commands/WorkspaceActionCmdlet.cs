using System.Diagnostics;
using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>The shape of the cmdlets that act on workspaces chosen by name: select, ShouldProcess, act, -PassThru.</summary>
public abstract class WorkspaceActionCmdlet : WsyncCmdlet
{
    #region Parameters

    /// <summary>Names of the workspaces; wildcards allowed. Workspace objects bind from the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>Writes each workspace after the action.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    /// <summary>The ShouldProcess action text; null for cmdlets that change nothing.</summary>
    protected abstract string? Action { get; }

    /// <summary>What the cmdlet does to one workspace, for -Verbose ("Suspending mirroring of").</summary>
    protected abstract string Verb { get; }

    #region Method overrides

    protected override void ProcessRecord()
    {
        List<Workspace> selected = [];
        if (!Try(() => selected = SelectByName(Await(Daemon.GetWorkspacesAsync(Cancellation)), w => w.Name, Name, ErrorIds.WorkspaceNotFound, "workspace"), Name))
        {
            return;
        }

        WriteVerbose($"'{string.Join("', '", Name)}' names {(selected.Count == 0 ? "no workspace" : string.Join(", ", selected.Select(w => $"'{w.Name}' ({w.Path})")))}.");
        foreach (var workspace in selected)
        {
            if (Action is not null && !ShouldProcess(Describe(workspace), Action))
            {
                continue;
            }

            Try(() =>
            {
                WriteVerbose($"{Verb} '{workspace.Name}'.");
                var started = Stopwatch.GetTimestamp();
                var after = Act(workspace);
                WriteVerboseTimed($"{Verb} '{workspace.Name}': done, the workspace is {after.State}", started);
                WriteRemoteOutcomes(after);
                if (PassThru)
                {
                    WriteObject(after);
                }
            }, workspace.Name);
        }
    }

    #endregion

    /// <summary>The ShouldProcess target text.</summary>
    protected virtual string Describe(Workspace workspace) => workspace.Name;

    /// <summary>Acts on one workspace; returns it as it is afterwards.</summary>
    protected abstract Workspace Act(Workspace workspace);
}
