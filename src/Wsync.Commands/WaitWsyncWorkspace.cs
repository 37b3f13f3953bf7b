using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>
/// Waits until every change made in the workspace before the call is on every remote (a barrier).
/// Past -TimeoutSec, an error names the remotes still behind.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "WsyncWorkspace")]
[OutputType(typeof(Workspace))]
public sealed class WaitWsyncWorkspace : WorkspaceActionCmdlet
{
    #region Parameters

    /// <summary>How long to wait, in seconds; without it, as long as it takes.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue / 1000)]
    public int TimeoutSec { get; set; }

    #endregion

    protected override string? Action => null;

    protected override string Verb => "Waiting until every change reached every remote of";

    protected override Workspace Act(Workspace workspace)
    {
        var timeout = TimeoutSec > 0 ? TimeoutSec * 1000 : -1;
        return Await(Daemon.WaitWorkspaceAsync(workspace.Name, timeout, Cancellation));
    }
}
