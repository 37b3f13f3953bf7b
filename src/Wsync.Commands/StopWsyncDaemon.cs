using System.Management.Automation;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>Stops the wsync daemon and its monitors; mirroring stops until a wsync command starts it again.</summary>
[Cmdlet(VerbsLifecycle.Stop, "WsyncDaemon", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class StopWsyncDaemon : WsyncCmdlet
{
    #region Parameters

    /// <summary>How long to wait for the daemon process to exit.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(WsyncConfig.ResolveHome(), "Stop the wsync daemon"))
        {
            return;
        }

        try
        {
            var notes = new List<string>();
            var stopped = Await(DaemonClient.StopAsync(TimeSpan.FromSeconds(TimeoutSec), notes, Cancellation));
            foreach (var note in notes)
            {
                WriteVerbose(note);
            }

            if (!stopped)
            {
                WriteVerbose("No daemon was running.");
            }
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, null);
        }
    }

    #endregion
}
