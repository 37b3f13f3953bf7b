using System.Management.Automation;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>
/// Disables and removes this home's systemd user unit and its launcher, stopping the daemon it ran; the next
/// wsync command starts a daemon the usual way. Every workspace and remote is kept.
/// </summary>
[Cmdlet(VerbsLifecycle.Unregister, "WsyncDaemon", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DaemonInfo))]
public sealed class UnregisterWsyncDaemon : WsyncCmdlet
{
    #region Parameters

    /// <summary>Writes what is known of the home afterwards (Registered is false).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        var home = WsyncConfig.ResolveHome();
        if (!ShouldProcess(home, $"Disable and remove the systemd user unit {SystemdUnit.Name(home)}, stopping its daemon"))
        {
            return;
        }

        try
        {
            var notes = new List<string>();
            Await(DaemonRegistration.UnregisterAsync(notes, Cancellation));
            foreach (var note in notes)
            {
                WriteVerbose(note);
            }

            if (PassThru)
            {
                WriteObject(Await(DaemonClient.TryGetInfoAsync(Cancellation)) is { } info
                    ? DaemonRegistration.Describe(info)
                    : DaemonRegistration.NotRunning(WsyncConfig.Load(home)));
            }
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, home);
        }
    }

    #endregion
}
