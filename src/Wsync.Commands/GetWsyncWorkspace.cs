using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Gets workspaces, with their remotes and live state.</summary>
[Cmdlet(VerbsCommon.Get, "WsyncWorkspace")]
[OutputType(typeof(Workspace))]
public sealed class GetWsyncWorkspace : WsyncCmdlet
{
    #region Parameters

    /// <summary>Names of the workspaces to get; wildcards allowed. All when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        Try(() =>
        {
            var workspaces = Await(Daemon.GetWorkspacesAsync(Cancellation));
            WriteObject(SelectByName(workspaces, w => w.Name, Name, ErrorIds.WorkspaceNotFound, "workspace"), enumerateCollection: true);
        }, Name);
    }

    #endregion
}
