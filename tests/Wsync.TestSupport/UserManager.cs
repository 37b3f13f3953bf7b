using System.Diagnostics;

namespace Wsync.TestSupport;

/// <summary>
/// A real systemd user manager (<c>systemd --user</c>) of its own, for the tests of the daemon's unit: its
/// runtime directory (where systemctl --user finds it) and its configuration directory (where user units live)
/// are private, so it sees only the units the test writes. Stopping it stops every unit it runs, as a logout
/// or a shutdown does; starting a new one on the same directories is a login (or a boot, with lingering).
/// systemd refuses to run a user manager unless the machine was booted with systemd (/run/systemd/system
/// exists); where it is not, as in these containers, the harness (root) creates that directory for the
/// manager's lifetime and removes it after. Not root, and no systemd: <see cref="Unavailable"/> says why.
/// </summary>
public sealed class UserManager : IDisposable
{
    private const string Booted = "/run/systemd/system";
    private const string Systemd = "/lib/systemd/systemd";

    /// <summary>Serialises the managers of parallel tests: they share <see cref="Booted"/>.</summary>
    private static readonly object BootedGate = new();
    private static int managers;
    private static bool createdBooted;

    private Process? process;

    private UserManager(string directory)
    {
        RuntimeDirectory = Path.Combine(directory, "run");
        ConfigDirectory = Path.Combine(directory, "config");
        Directory.CreateDirectory(RuntimeDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(ConfigDirectory);
    }

    /// <summary>XDG_RUNTIME_DIR of the manager: set it for systemctl --user (and the module) to reach this manager.</summary>
    public string RuntimeDirectory { get; }

    /// <summary>XDG_CONFIG_HOME of the manager: user units are in its systemd/user.</summary>
    public string ConfigDirectory { get; }

    public int? ProcessId => process?.Id;

    /// <summary>Why no user manager can be started here, or null when one can.</summary>
    public static string? Unavailable =>
        !File.Exists(Systemd) ? $"{Systemd} is not installed"
        : !Directory.Exists(Booted) && Environment.UserName != "root" ? $"{Booted} is missing and only root may create it"
        : null;

    /// <summary>Prepares the directories under <paramref name="directory"/> (short: sockets live there) and starts the manager.</summary>
    public static UserManager Start(string directory)
    {
        var manager = new UserManager(directory);
        manager.Login();
        return manager;
    }

    /// <summary>Starts the manager (a login): it starts every unit default.target wants. Returns once systemctl --user answers.</summary>
    public void Login()
    {
        if (process is not null)
        {
            throw new InvalidOperationException("The user manager already runs.");
        }

        lock (BootedGate)
        {
            if (managers++ == 0 && !Directory.Exists(Booted))
            {
                Directory.CreateDirectory(Booted);
                createdBooted = true;
            }
        }

        var start = new ProcessStartInfo(Systemd) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--user");
        start.Environment["XDG_RUNTIME_DIR"] = RuntimeDirectory;
        start.Environment["XDG_CONFIG_HOME"] = ConfigDirectory;
        start.Environment.Remove("SSH_AUTH_SOCK");
        process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Poll.Until(() => process.HasExited || Systemctl("is-system-running").Output.Trim() is "running" or "degraded",
            TimeSpan.FromSeconds(30), "the systemd user manager to run");
        if (process.HasExited)
        {
            var code = process.ExitCode;
            Logout();
            throw new InvalidOperationException($"systemd --user exited with {code}.");
        }
    }

    /// <summary>Stops the manager (a logout or a shutdown): it stops every unit first. Returns once it exited.</summary>
    public void Logout()
    {
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            Processes.Terminate(process.Id);
            if (!process.WaitForExit(60_000))
            {
                Processes.Kill(process.Id);
                process.WaitForExit();
            }
        }

        process.Dispose();
        process = null;
        lock (BootedGate)
        {
            if (--managers == 0 && createdBooted)
            {
                Directory.Delete(Booted);
                createdBooted = false;
            }
        }
    }

    /// <summary>Runs systemctl --user against this manager: its exit code and what it wrote (a class, so PowerShell sees the names).</summary>
    public SystemctlResult Systemctl(params string[] arguments)
    {
        var start = new ProcessStartInfo("systemctl") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--user");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["XDG_RUNTIME_DIR"] = RuntimeDirectory;
        start.Environment["XDG_CONFIG_HOME"] = ConfigDirectory;
        using var systemctl = Process.Start(start)!;
        var output = systemctl.StandardOutput.ReadToEndAsync();
        var error = systemctl.StandardError.ReadToEnd();
        systemctl.WaitForExit();
        return new SystemctlResult(systemctl.ExitCode, output.Result + error);
    }

    public void Dispose() => Logout();
}

/// <summary>What one systemctl call did.</summary>
public sealed record SystemctlResult(int Code, string Output);
