using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Wsync.Engine;

/// <summary>
/// Starting a daemon the module's own way, when no systemd unit does it (<see cref="DaemonRegistration"/>):
/// the daemon of this machine's architecture from the module's bin/, its execute bits restored, detached.
/// </summary>
public static class DaemonLauncher
{
    /// <summary>How long a starting daemon has to start listening.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// This machine's runtime identifier, the folder under bin/ whose daemon and monitor it can run:
    /// linux-x64 or linux-arm64. The module ships one folder per architecture it was built for.
    /// </summary>
    public static string RuntimeIdentifier => "linux-" + RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();

    /// <summary>The module's bin/ folder, at ../bin from this assembly.</summary>
    private static string BinDirectory =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(typeof(DaemonClient).Assembly.Location)!)!, "bin");

    /// <summary>The daemon executable for this machine: bin/&lt;runtime identifier&gt;/wsyncd (the monitor sits beside it).</summary>
    public static string DaemonExecutable => Path.Combine(BinDirectory, RuntimeIdentifier, "wsyncd");

    /// <summary>
    /// Restores the execute bits a package lost: a .nupkg is a zip, and Install-PSResource unpacks the
    /// daemon and the monitor as plain 0644 files. Only the owner of the module folder can fix that.
    /// </summary>
    private static void MakeExecutable(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(path);
        if ((mode & execute) == execute)
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(path, mode | execute);
        }
        catch (UnauthorizedAccessException)
        {
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.PermissionDenied, path,
                $"'{path}' is not executable (packages lose the bit) and only the module's owner can fix it: chmod +x '{path}'.");
        }
    }

    /// <summary>
    /// Starts wsyncd --detach and waits until it closes its output: then it listens (or has exited,
    /// and its stderr says why). Returns its pid.
    /// </summary>
    internal static async Task<int> LaunchAsync(WsyncConfig config, CancellationToken cancellationToken)
    {
        var executable = DaemonExecutable;
        if (!File.Exists(executable))
        {
            var built = Directory.Exists(BinDirectory)
                ? string.Join(", ", Directory.GetDirectories(BinDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal))
                : "";
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.NotInstalled, executable,
                built.Length > 0 && !built.Split(", ").Contains(RuntimeIdentifier)
                    ? $"This copy of wsync has no daemon for {RuntimeIdentifier}, the architecture of this machine (it has {built}); install a package built for {RuntimeIdentifier}."
                    : $"The daemon executable '{executable}' is missing; reinstall the wsync module.");
        }

        MakeExecutable(executable);
        MakeExecutable(Path.Combine(Path.GetDirectoryName(executable)!, "wsync-monitor"));
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        start.ArgumentList.Add("--detach");
        start.ArgumentList.Add("--home");
        start.ArgumentList.Add(config.Home);

        using var process = Process.Start(start)
            ?? throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.ResourceUnavailable, executable, $"Could not start '{executable}'.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await Task.WhenAll(output, errors).WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.OperationTimeout, executable,
                $"The daemon did not start listening within {StartTimeout.TotalSeconds:0} s; see the log in {config.LogDirectory}.");
        }

        if (process.HasExited || process.WaitForExit(50))
        {
            var message = (await errors.ConfigureAwait(false)).Trim();
            switch ((DaemonExit)process.ExitCode)
            {
                case DaemonExit.Stopped:
                    break;
                case DaemonExit.AlreadyRunning: // another caller won the race; its socket answers shortly
                    return 0;
                case var exit:
                    throw new WsyncException(ErrorIds.DaemonStartFailed,
                        exit == DaemonExit.ConfigurationUnusable ? WsyncErrorCategory.InvalidData : WsyncErrorCategory.ResourceUnavailable,
                        config.Home, message.Length > 0 ? message : $"wsyncd exited with code {process.ExitCode}.");
            }
        }

        return process.Id;
    }
}
