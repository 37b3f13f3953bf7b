using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Gets remotes with their live state: of one workspace, or of all.</summary>
[Cmdlet(VerbsCommon.Get, "WsyncRemote")]
[OutputType(typeof(Remote))]
public sealed class GetWsyncRemote : WsyncCmdlet
{
    #region Parameters

    /// <summary>The workspace whose remotes to get; all workspaces when omitted. Wildcards allowed.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string? Workspace { get; set; }

    /// <summary>Names of the remotes to get; wildcards allowed.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(RemoteNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        Try(() =>
        {
            IEnumerable<Remote> remotes = Await(Daemon.GetRemotesAsync(null, Cancellation));
            if (Workspace is not null)
            {
                var workspaces = SelectByName(Await(Daemon.GetWorkspacesAsync(Cancellation)), w => w.Name, [Workspace], ErrorIds.WorkspaceNotFound, "workspace");
                remotes = remotes.Where(r => workspaces.Any(w => w.Id == r.WorkspaceId));
            }

            WriteObject(SelectByName(remotes, r => r.Name, Name, ErrorIds.RemoteNotFound, "remote"), enumerateCollection: true);
        }, Workspace);
    }

    #endregion
}
