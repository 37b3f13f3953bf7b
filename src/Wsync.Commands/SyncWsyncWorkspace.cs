using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Makes every remote an exact mirror now (a full reconcile), with progress; returns when done.</summary>
[Cmdlet(VerbsData.Sync, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Workspace))]
public sealed class SyncWsyncWorkspace : WorkspaceActionCmdlet
{
    protected override string Action => "Full sync to every remote";

    protected override string Verb => "Fully syncing every remote of";

    protected override Workspace Act(Workspace workspace) =>
        AwaitWithProgress(progress => Daemon.SyncWorkspaceAsync(workspace.Name, progress, Cancellation), $"Syncing {workspace.Name}");
}
