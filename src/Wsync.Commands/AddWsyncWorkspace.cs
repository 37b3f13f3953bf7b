using System.Diagnostics;
using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>Adds a directory as a workspace; its monitor starts watching at once.</summary>
[Cmdlet(VerbsCommon.Add, "WsyncWorkspace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Workspace))]
public sealed class AddWsyncWorkspace : WsyncCmdlet
{
    #region Parameters

    /// <summary>The directory; a relative path resolves against the current location.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The workspace's name; defaults to the directory's leaf name. Binds from a Name property (Import-Csv rows).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Paths to leave out, in rsync pattern syntax ('*.o', 'build/', '/dist').</summary>
    [Parameter]
    public string[] Exclude { get; set; } = [];

    /// <summary>Also leave out what the workspace's .gitignore files ignore.</summary>
    [Parameter]
    public SwitchParameter UseGitIgnore { get; set; }

    /// <summary>Accept a directory that is normally refused: /, your home directory, a system directory.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        var resolved = ResolvePath(Path);
        if (!ShouldProcess(resolved, "Add workspace"))
        {
            return;
        }

        Try(() =>
        {
            var daemon = Daemon;
            WriteVerbose($"Adding {resolved} as a workspace; the daemon checks it and starts its monitor.");
            var started = Stopwatch.GetTimestamp();
            var workspace = Await(daemon.AddWorkspaceAsync(new AddWorkspaceRequest
            {
                Path = resolved,
                Name = Name,
                Exclude = Exclude,
                UseGitIgnore = UseGitIgnore,
                Force = Force,
            }, Cancellation));
            WriteVerboseTimed($"Added workspace '{workspace.Name}'; it is {workspace.State}", started);
            WriteObject(workspace);
        }, Path);
    }

    #endregion
}
