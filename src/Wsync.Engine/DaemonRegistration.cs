using System.Diagnostics;
using System.Text;

namespace Wsync.Engine;

/// <summary>
/// Register-WsyncDaemon and Unregister-WsyncDaemon: a systemd user unit per home (<see cref="SystemdUnit"/>)
/// that starts the daemon at login (at boot with lingering), and the module's way of starting a registered
/// daemon through it, so that there is one way it runs.
/// </summary>
public static class DaemonRegistration
{
    /// <summary>How long one systemctl call may take.</summary>
    private static readonly TimeSpan SystemctlTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Where user units live: $XDG_CONFIG_HOME/systemd/user, or ~/.config/systemd/user.</summary>
    public static string UnitDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config
            ? config
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "systemd", "user");

    public static string UnitPath(string home) => Path.Combine(UnitDirectory, SystemdUnit.Name(home));

    public static string LauncherPath(string home) => Path.Combine(home, SystemdUnit.LauncherName);

    /// <summary>True when this home has a unit (whether or not a user manager runs now).</summary>
    public static bool IsRegistered(string home) => File.Exists(UnitPath(home));

    /// <summary>
    /// Whether the user manager starts at boot, without a login (loginctl enable-linger): logind's flag file.
    /// Null when this machine has no logind state to tell.
    /// </summary>
    public static bool? Lingering()
    {
        const string directory = "/var/lib/systemd/linger";
        return Directory.Exists(directory) ? File.Exists(Path.Combine(directory, Environment.UserName)) : null;
    }

    /// <summary><paramref name="info"/> with this home's registration.</summary>
    public static DaemonInfo Describe(DaemonInfo info) => info with
    {
        Registered = IsRegistered(info.Home),
        UnitName = SystemdUnit.Name(info.Home),
        UnitPath = UnitPath(info.Home),
        Lingering = Lingering(),
    };

    /// <summary>What is known of a home whose daemon does not run: its configuration and its registration.</summary>
    public static DaemonInfo NotRunning(WsyncConfig config) => Describe(new DaemonInfo
    {
        ProcessId = 0,
        Running = false,
        Version = ProtocolInfo.ProductVersion,
        ProtocolVersion = ProtocolInfo.Version,
        SocketPath = config.DaemonCommandSocketPath,
        StartTime = default,
        Home = config.Home,
        WorkspaceFilePath = config.WorkspaceConfigFilePath,
        LogDirectory = config.LogDirectory,
    });

    /// <summary>
    /// Writes the launcher and the unit, enables the unit and (re)starts the daemon through it; a daemon of
    /// this home that runs outside the unit is stopped first. Changes nothing when no user manager answers.
    /// </summary>
    /// <param name="moduleBase">The folder of the wsync module in use; the unit runs the newest version installed beside it.</param>
    public static async Task<DaemonInfo> RegisterAsync(string moduleBase, ICollection<string> notes, CancellationToken cancellationToken)
    {
        var home = WsyncConfig.ResolveHome();
        await RequireManagerAsync(home, cancellationToken).ConfigureAwait(false);
        var modules = ModulesFolder(moduleBase);
        if (!File.Exists(Path.Combine(moduleBase, "bin", DaemonLauncher.RuntimeIdentifier, "wsyncd")))
        {
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.NotInstalled, moduleBase,
                $"This copy of wsync ({moduleBase}) has no daemon for {DaemonLauncher.RuntimeIdentifier}; register from a wsync built for this machine.");
        }

        var unit = SystemdUnit.Name(home);
        if (!await IsActiveAsync(unit, cancellationToken).ConfigureAwait(false) &&
            await DaemonClient.StopAsync(TimeSpan.FromSeconds(60), notes, cancellationToken).ConfigureAwait(false))
        {
            notes.Add("Stopped the daemon that ran outside systemd; the unit starts it again.");
        }

        WsyncConfig.EnsurePrivateDirectory(home);
        WriteAtomically(LauncherPath(home), SystemdUnit.Launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(UnitDirectory);
        var path = Environment.GetEnvironmentVariable("PATH");
        WriteAtomically(UnitPath(home), SystemdUnit.Text(home, LauncherPath(home), modules, path),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        notes.Add($"Wrote {UnitPath(home)} (runs the newest wsync in {modules}) and {LauncherPath(home)}.");
        await SystemctlAsync(home, cancellationToken, "daemon-reload").ConfigureAwait(false);
        await SystemctlAsync(home, cancellationToken, "enable", unit).ConfigureAwait(false);
        await SystemctlAsync(home, cancellationToken, "restart", unit).ConfigureAwait(false);
        await DaemonClient.ForgetConnectionAsync(cancellationToken).ConfigureAwait(false);
        notes.Add($"Enabled and started {unit}.");
        var info = await DaemonClient.StartAsync(notes, cancellationToken).ConfigureAwait(false);
        return Describe(info);
    }

    /// <summary>Disables and stops the unit, then removes it and the launcher. False when this home had none (nothing to do).</summary>
    public static async Task<bool> UnregisterAsync(ICollection<string> notes, CancellationToken cancellationToken)
    {
        var home = WsyncConfig.ResolveHome();
        var unit = SystemdUnit.Name(home);
        var unitPath = UnitPath(home);
        if (!File.Exists(unitPath) && !File.Exists(LauncherPath(home)))
        {
            notes.Add($"{home} has no unit ({unitPath}): nothing to remove.");
            return false;
        }

        if (await ManagerAnswersAsync(cancellationToken).ConfigureAwait(false))
        {
            await SystemctlAsync(home, cancellationToken, "disable", "--now", unit).ConfigureAwait(false);
            notes.Add($"Disabled and stopped {unit}.");
        }
        else
        {
            // No manager to ask: what "disable" would remove is the link that makes default.target want the unit.
            File.Delete(Path.Combine(UnitDirectory, "default.target.wants", unit));
            notes.Add($"No systemd user manager answers: removed {unit}'s link from default.target.wants by hand.");
        }

        File.Delete(unitPath);
        File.Delete(LauncherPath(home));
        if (await ManagerAnswersAsync(cancellationToken).ConfigureAwait(false))
        {
            await SystemctlAsync(home, cancellationToken, "daemon-reload").ConfigureAwait(false);
        }

        notes.Add($"Removed {unitPath} and {LauncherPath(home)}.");
        return true;
    }

    /// <summary>
    /// For a registered home with a user manager: starts the daemon through its unit (not by a detach of the
    /// module's own). False when the home is not registered or no manager answers: the caller starts it itself.
    /// </summary>
    public static async Task<bool> TryStartUnitAsync(string home, ICollection<string> notes, CancellationToken cancellationToken)
    {
        if (!IsRegistered(home) || !await ManagerAnswersAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var unit = SystemdUnit.Name(home);
        notes.Add($"{home} is registered with systemd: starting {unit}.");
        await SystemctlAsync(home, cancellationToken, "start", unit).ConfigureAwait(false);
        return true;
    }

    /// <summary>The folder the launcher searches: the module's parent when the module sits in a version folder (wsync/0.2.0).</summary>
    private static string ModulesFolder(string moduleBase)
    {
        var trimmed = Path.TrimEndingDirectorySeparator(moduleBase);
        return Version.TryParse(Path.GetFileName(trimmed), out _) ? Path.GetDirectoryName(trimmed)! : trimmed;
    }

    private static async Task RequireManagerAsync(string home, CancellationToken cancellationToken)
    {
        var (code, _, error) = await RunAsync(["--user", "show-environment"], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new WsyncException(ErrorIds.SystemdUserManagerUnavailable, WsyncErrorCategory.ResourceUnavailable, home,
                $"No systemd user manager answers ({(error.Trim() is { Length: > 0 } said ? said : $"systemctl --user exited with {code}")}), so the daemon cannot be " +
                "registered to start at login; nothing was changed. Containers and minimal hosts have none. Instead, start it from your " +
                "PowerShell profile (Start-WsyncDaemon), from your init system, or from cron (@reboot) with: wsyncd --detach --home " + home);
        }
    }

    private static async Task<bool> ManagerAnswersAsync(CancellationToken cancellationToken) =>
        (await RunAsync(["--user", "show-environment"], cancellationToken).ConfigureAwait(false)).Code == 0;

    private static async Task<bool> IsActiveAsync(string unit, CancellationToken cancellationToken) =>
        (await RunAsync(["--user", "is-active", "--quiet", unit], cancellationToken).ConfigureAwait(false)).Code == 0;

    private static async Task SystemctlAsync(string home, CancellationToken cancellationToken, params string[] arguments)
    {
        var (code, output, error) = await RunAsync(["--user", .. arguments], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            var unit = SystemdUnit.Name(home);
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.ResourceUnavailable, unit,
                $"systemctl --user {string.Join(' ', arguments)} failed ({code}): {(error + output).Trim()} " +
                $"(systemctl --user status {unit} and journalctl --user -u {unit} say more).");
        }
    }

    /// <summary>Runs systemctl with an argument vector (never a shell).</summary>
    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("systemctl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            return (127, "", $"systemctl could not run: {exception.Message}");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).WaitAsync(SystemctlTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                process.Kill();
                return (124, "", $"systemctl --user {string.Join(' ', arguments.Skip(1))} did not answer within {SystemctlTimeout.TotalSeconds:0} s");
            }

            return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
        }
    }

    /// <summary>Temporary file in the same directory, then rename: a reader sees the old file or the new one.</summary>
    private static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.SetUnixFileMode(temporary, mode);
        File.Move(temporary, path, overwrite: true);
    }
}
