using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Pauses mirroring of workspaces. Changes made meanwhile are not lost: they go out on resume.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Workspace))]
public sealed class SuspendWsyncWorkspace : WorkspaceActionCmdlet
{
    protected override string Action => "Suspend mirroring";

    protected override string Verb => "Suspending mirroring of";

    protected override Workspace Act(Workspace workspace) => Await(Daemon.SuspendWorkspaceAsync(workspace.Name, Cancellation));
}
