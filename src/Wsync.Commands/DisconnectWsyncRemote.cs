using System.Diagnostics;
using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Detaches a remote: changes stop going there. Its files stay as they are.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "WsyncRemote", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Remote))]
public sealed class DisconnectWsyncRemote : WsyncCmdlet
{
    #region Parameters

    /// <summary>The workspace's name (bound from a remote object's Workspace property in a pipeline).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string Workspace { get; set; } = "";

    /// <summary>The remote's name.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RemoteNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Writes the detached remote.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Name} of {Workspace}", "Disconnect remote"))
        {
            return;
        }

        Try(() =>
        {
            var daemon = Daemon;
            var started = Stopwatch.GetTimestamp();
            var remote = Await(daemon.DisconnectRemoteAsync(Workspace, Name, Cancellation));
            WriteVerboseTimed($"Disconnected remote '{remote.Name}' ({remote.Destination}) from '{Workspace}'; what it holds stays as it is", started);
            if (PassThru)
            {
                WriteObject(remote);
            }
        }, Name);
    }

    #endregion
}
