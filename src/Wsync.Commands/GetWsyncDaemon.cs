using System.Management.Automation;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>
/// Gets this home's daemon: its process id, version, socket and start time, and whether systemd starts it at
/// login (Registered). When none runs, the same object with Running false: the home's configuration and
/// registration. Never starts one.
/// </summary>
[Cmdlet(VerbsCommon.Get, "WsyncDaemon")]
[OutputType(typeof(DaemonInfo))]
public sealed class GetWsyncDaemon : WsyncCmdlet
{
    #region Method overrides

    protected override void ProcessRecord()
    {
        try
        {
            var info = Await(DaemonClient.TryGetInfoAsync(Cancellation));
            WriteObject(info is null ? DaemonRegistration.NotRunning(WsyncConfig.Load(WsyncConfig.ResolveHome())) : DaemonRegistration.Describe(info));
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, null);
        }
    }

    #endregion
}
