using System.Management.Automation;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>Gets the running daemon: its process id, version, socket and start time. Never starts one.</summary>
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
            if (info is null)
            {
                var home = WsyncConfig.ResolveHome();
                WriteFailure(new WsyncException(ErrorIds.DaemonNotRunning, WsyncErrorCategory.ObjectNotFound, home,
                    $"No wsync daemon runs for {home}. Start-WsyncDaemon starts it (any other wsync command does too)."), home);
                return;
            }

            WriteObject(info);
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, null);
        }
    }

    #endregion
}
