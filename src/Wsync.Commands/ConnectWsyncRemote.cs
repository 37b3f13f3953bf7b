using System.Diagnostics;
using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>
/// Attaches a remote to a workspace: a local directory or a directory on an ssh host. The destination
/// is checked first; then the initial sync makes it an exact mirror, with progress, unless -NoWait.
/// A destination holding entries the workspace lacks (which the mirror would delete) is connected only
/// once the user confirms, or with -Force.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "WsyncRemote", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Remote))]
public sealed class ConnectWsyncRemote : WsyncCmdlet
{
    #region Parameters

    /// <summary>The workspace's name, or a workspace object from the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string Workspace { get; set; } = "";

    /// <summary>/abs/path, [user@]host:path or ssh://[user@]host[:port]/path.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(DestinationCompleter))]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>The remote's name; defaults to the host (ssh) or the directory's leaf name (local).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The ssh port, when not 22.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    /// <summary>The private key ssh authenticates with.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityFile { get; set; }

    /// <summary>ssh options as Key=Value, e.g. 'ServerAliveInterval=15'; options that run commands need -AllowUnsafeSshOption.</summary>
    [Parameter]
    public string[] SshOption { get; set; } = [];

    /// <summary>Accept ssh options that run commands on this machine (ProxyCommand, LocalCommand, ...).</summary>
    [Parameter]
    public SwitchParameter AllowUnsafeSshOption { get; set; }

    /// <summary>Return as soon as the remote is attached, without waiting for the initial sync.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>Connect without asking even when the destination holds entries the workspace lacks: they are deleted.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How changes travel: Agent (small changes through a wsync agent where it can run, rsync for the rest; the default) or Rsync (nothing of wsync's runs on the destination).</summary>
    [Parameter]
    public RemoteTransport Transport { get; set; } = RemoteTransport.Agent;

    /// <summary>What is done when something other than wsync changes a mirrored path on the remote: Undo (put it back; the default) or Report (only report it). Seen where the agent runs.</summary>
    [Parameter]
    public DriftAction DriftAction { get; set; } = DriftAction.Undo;

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        var destination = IsLocal(Destination) ? ResolvePath(Destination) : Destination;
        if (!ShouldProcess($"{Workspace} → {destination}", "Connect remote"))
        {
            return;
        }

        if (AllowUnsafeSshOption)
        {
            WriteWarning("-AllowUnsafeSshOption lets ssh options run commands on this machine; use it only with options you wrote yourself.");
        }

        var request = new ConnectRemoteRequest
        {
            Workspace = Workspace,
            Destination = destination,
            Name = Name,
            Port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : null,
            IdentityFile = IdentityFile is null ? null : ResolvePath(IdentityFile),
            SshOptions = SshOption,
            AllowUnsafeSshOption = AllowUnsafeSshOption,
            WaitForInitialSync = !NoWait,
            Force = Force,
            Transport = Transport,
            DriftAction = DriftAction,
        };
        Try(() =>
        {
            WriteVerbose($"Checking that {destination} can be mirrored to ({(IsLocal(Destination) ? "a writable directory" : "host key, login, a writable directory, rsync")}), then storing it as a remote of '{Workspace}'" +
                (NoWait ? "." : " and waiting for its initial sync (Ctrl+C stops the wait; the remote stays connected and its sync goes on)."));
            var started = Stopwatch.GetTimestamp();
            var remote = Connect(request);
            WriteVerboseTimed($"Connected remote '{remote.Name}' to '{Workspace}'; it is {remote.State}", started);
            WriteVerbose(DescribeOutcome(remote));
            WriteObject(remote);
        }, Destination);
    }

    #endregion

    /// <summary>Connects; a destination the mirror would delete files from is connected only once confirmed.</summary>
    private Remote Connect(ConnectRemoteRequest request)
    {
        try
        {
            return AwaitWithProgress(progress => Daemon.ConnectRemoteAsync(request, progress, Cancellation), $"Initial sync of {Workspace}");
        }
        catch (WsyncException refusal) when (refusal.ErrorId == ErrorIds.DestinationHoldsOtherFiles && !request.Force)
        {
            if (!ConfirmDespite(refusal, "Delete files on the destination?"))
            {
                throw;
            }

            return Connect(request with { Force = true });
        }
    }

    /// <summary>rsync's rule: a colon before the first slash names a host; ssh:// is a URL; anything else is local.</summary>
    private static bool IsLocal(string destination)
    {
        if (destination.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var colon = destination.IndexOf(':');
        var slash = destination.IndexOf('/');
        return colon < 0 || (slash >= 0 && slash < colon);
    }
}
