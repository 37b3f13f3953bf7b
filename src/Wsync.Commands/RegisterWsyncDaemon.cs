using System.Management.Automation;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>
/// Registers this home's daemon as a systemd user unit, enabled and started: from then on it starts at login
/// (at boot with lingering) and resumes every workspace with no command typed.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "WsyncDaemon", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DaemonInfo))]
public sealed class RegisterWsyncDaemon : WsyncCmdlet
{
    #region Parameters

    /// <summary>Writes the daemon's information, with its unit, once it runs under systemd.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        var home = WsyncConfig.ResolveHome();
        if (!ShouldProcess(home, $"Register the wsync daemon as the systemd user unit {SystemdUnit.Name(home)}, enable and start it"))
        {
            return;
        }

        try
        {
            var notes = new List<string>();
            var info = Await(DaemonRegistration.RegisterAsync(MyInvocation.MyCommand.Module.ModuleBase, notes, Cancellation));
            foreach (var note in notes)
            {
                WriteVerbose(note);
            }

            if (info.Lingering != true)
            {
                WriteWarning($"Lingering is off for {Environment.UserName}: {info.UnitName} starts when you log in, not at boot. " +
                    $"To start it at boot without a login: loginctl enable-linger {Environment.UserName}");
            }

            if (PassThru)
            {
                WriteObject(info);
            }
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, home);
        }
    }

    #endregion
}
