using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Resumes mirroring of suspended, failed or halted workspaces; each remote is reconciled first.</summary>
[Cmdlet(VerbsLifecycle.Resume, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Workspace))]
public sealed class ResumeWsyncWorkspace : WorkspaceActionCmdlet
{
    protected override string Action => "Resume mirroring";

    protected override string Verb => "Resuming mirroring of";

    protected override Workspace Act(Workspace workspace) => Await(Daemon.ResumeWorkspaceAsync(workspace.Name, Cancellation));
}
