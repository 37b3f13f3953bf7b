using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Removes workspaces: their monitors stop. The files, local and remote, are left as they are.</summary>
[Cmdlet(VerbsCommon.Remove, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Workspace))]
public sealed class RemoveWsyncWorkspace : WorkspaceActionCmdlet
{
    protected override string Action => "Remove workspace";

    protected override string Verb => "Removing workspace";

    protected override string Describe(Workspace workspace) => $"{workspace.Name} ({workspace.Path})";

    protected override Workspace Act(Workspace workspace) => Await(Daemon.RemoveWorkspaceAsync(workspace.Name, Cancellation));
}
