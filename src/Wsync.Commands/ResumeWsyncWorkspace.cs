using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>
/// Resumes mirroring of suspended, failed or halted workspaces; each remote is reconciled first. A workspace
/// whose root is empty (resuming would empty every remote) is resumed only once the user confirms, or with -Force.
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Workspace))]
public sealed class ResumeWsyncWorkspace : WorkspaceActionCmdlet
{
    #region Parameters

    /// <summary>Resume without asking even when the root is empty: every remote is emptied too.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    #endregion

    protected override string Action => "Resume mirroring";

    protected override string Verb => "Resuming mirroring of";

    protected override Workspace Act(Workspace workspace)
    {
        try
        {
            return Await(Daemon.ResumeWorkspaceAsync(workspace.Name, Force, Cancellation));
        }
        catch (WsyncException refusal) when (refusal.ErrorId == ErrorIds.ResumeWouldEmptyRemotes && !Force)
        {
            if (!ConfirmDespite(refusal, "Empty every remote?"))
            {
                throw;
            }

            return Await(Daemon.ResumeWorkspaceAsync(workspace.Name, true, Cancellation));
        }
    }
}
