using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Removes workspaces: their monitors stop. The files, local and remote, are left as they are.</summary>
[Cmdlet(VerbsCommon.Remove, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Workspace))]
public sealed class RemoveWsyncWorkspace : WsyncCmdlet
{
    #region Parameters

    /// <summary>Names of the workspaces to remove; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>Writes each removed workspace.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        List<Workspace> selected = [];
        if (!Try(() => selected = SelectByName(Await(Daemon.GetWorkspacesAsync(Cancellation)), w => w.Name, Name, ErrorIds.WorkspaceNotFound, "workspace"), Name))
        {
            return;
        }

        foreach (var workspace in selected)
        {
            if (!ShouldProcess($"{workspace.Name} ({workspace.Path})", "Remove workspace"))
            {
                continue;
            }

            Try(() =>
            {
                var removed = Await(Daemon.RemoveWorkspaceAsync(workspace.Name, Cancellation));
                if (PassThru)
                {
                    WriteObject(removed);
                }
            }, workspace.Name);
        }
    }

    #endregion
}
