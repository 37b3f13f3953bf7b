using System.Management.Automation;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>Starts the wsync daemon for this user (or this $env:WSYNC_HOME) unless it already runs.</summary>
[Cmdlet(VerbsLifecycle.Start, "WsyncDaemon", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(DaemonInfo))]
public sealed class StartWsyncDaemon : WsyncCmdlet
{
    #region Parameters

    /// <summary>Writes the daemon's information.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(WsyncConfig.ResolveHome(), "Start the wsync daemon"))
        {
            return;
        }

        try
        {
            var notes = new List<string>();
            var info = Await(DaemonClient.StartAsync(notes, Cancellation));
            foreach (var note in notes)
            {
                WriteVerbose(note);
            }

            if (PassThru)
            {
                WriteObject(info);
            }
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, null);
        }
    }

    #endregion
}
