using System.Security.Cryptography;
using System.Text;

namespace Wsync;

/// <summary>A line of wsync.config that cannot be read, named by file and line (0: the file as a whole).</summary>
public sealed class WsyncConfigException(string file, int line, string message)
    : Exception(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}")
{
    public string File { get; } = file;

    public int Line { get; } = line;
}

/// <summary>
/// The settings in <c>wsync.config</c>: <c>Key=Value</c> lines, <c>#</c> comments. Every key has a default,
/// so a missing file or key means "the default"; the daemon writes a commented file on first use.
/// The module reads the same file to find the daemon's socket.
/// </summary>
public sealed class WsyncConfig
{
    public const string FileName = "wsync.config";
    public const string HomeVariable = "WSYNC_HOME";
    public const string DefaultWorkspaceFileName = "wsync-ws-config.json";

    /// <summary>sun_path holds 108 bytes including the terminating NUL.</summary>
    public const int MaxSocketPathBytes = 107;

    /// <summary>Crashes within the window after which a monitor is left stopped: a few restarts ride out a passing fault, more mean a fault that will not pass.</summary>
    public const int DefaultMonitorCrashThreshold = 5;

    /// <summary>Ten minutes: crashes further apart than that are unrelated, each one restarted.</summary>
    public const int DefaultMonitorCrashWindowSeconds = 600;

    private static readonly string[] KnownKeys =
        ["WorkspaceConfigFilePath", "MonitorExecutablePath", "DaemonCommandSocketPath", "LogDirectory",
            "MonitorCrashThreshold", "MonitorCrashWindowSeconds"];

    private WsyncConfig(string home, string configFilePath)
    {
        Home = home;
        ConfigFilePath = configFilePath;
        WorkspaceConfigFilePath = System.IO.Path.Combine(home, DefaultWorkspaceFileName);
        DaemonCommandSocketPath = DefaultSocketPath(home);
        LogDirectory = System.IO.Path.Combine(home, "logs");
    }

    /// <summary>The wsync home: $WSYNC_HOME, or ~/.wsync.</summary>
    public string Home { get; }

    public string ConfigFilePath { get; }

    /// <summary>The JSON array of workspaces, written only by the daemon.</summary>
    public string WorkspaceConfigFilePath { get; private set; }

    /// <summary>The monitor executable; null means the wsync-monitor shipped beside wsyncd.</summary>
    public string? MonitorExecutablePath { get; private set; }

    public string DaemonCommandSocketPath { get; private set; }

    public string LogDirectory { get; private set; }

    /// <summary>Unasked monitor exits (crashes, missed heartbeats) within <see cref="MonitorCrashWindow"/> after which the workspace is Failed.</summary>
    public int MonitorCrashThreshold { get; private set; } = DefaultMonitorCrashThreshold;

    public TimeSpan MonitorCrashWindow { get; private set; } = TimeSpan.FromSeconds(DefaultMonitorCrashWindowSeconds);

    /// <summary>Lines that were understood but are suspicious (unknown keys), for the daemon to log.</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    /// <summary>The home directory wsync uses in this environment.</summary>
    public static string ResolveHome()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(HomeVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return System.IO.Path.GetFullPath(ExpandTilde(fromEnvironment));
        }

        return DefaultHome();
    }

    /// <summary>The home when $WSYNC_HOME is not set: ~/.wsync.</summary>
    public static string DefaultHome() => System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".wsync");

    /// <summary>Reads the configuration of <paramref name="home"/>; defaults when the file is missing.</summary>
    /// <exception cref="WsyncConfigException">A malformed line.</exception>
    public static WsyncConfig Load(string home)
    {
        var path = System.IO.Path.Combine(home, FileName);
        var text = File.Exists(path) ? File.ReadAllText(path) : "";
        return Parse(text, home, path);
    }

    /// <summary>Reads the configuration, first creating the home (0700) and a commented default file (0600).</summary>
    public static WsyncConfig LoadOrCreate(string home)
    {
        EnsurePrivateDirectory(home);
        var path = System.IO.Path.Combine(home, FileName);
        if (Directory.Exists(path))
        {
            throw new WsyncConfigException(path, 0, "is a directory, not a configuration file; move it away (a new file with the defaults is then written).");
        }

        if (!File.Exists(path))
        {
            var defaults = new WsyncConfig(home, path);
            var temporary = path + ".tmp-" + Environment.ProcessId;
            File.WriteAllText(temporary, defaults.DefaultFileText(), new UTF8Encoding(false));
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            try
            {
                // Another process may have written it first; theirs wins and both read the same text.
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
            }
        }

        return Load(home);
    }

    /// <summary>Parses config text; relative values resolve against <paramref name="home"/>.</summary>
    public static WsyncConfig Parse(string text, string home, string sourcePath)
    {
        var config = new WsyncConfig(home, sourcePath);
        var warnings = new List<string>();
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r').Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                throw new WsyncConfigException(sourcePath, lineNumber,
                    $"expected Key=Value, found '{line}'. Keys: {string.Join(", ", KnownKeys)}.");
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (key.Any(char.IsWhiteSpace))
            {
                throw new WsyncConfigException(sourcePath, lineNumber, $"the key '{key}' contains white space.");
            }

            var known = KnownKeys.FirstOrDefault(k => k.Equals(key, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                warnings.Add($"{sourcePath}:{lineNumber}: unknown key '{key}' ignored. Keys: {string.Join(", ", KnownKeys)}.");
                continue;
            }

            if (value.Length == 0)
            {
                continue; // an empty value means "the default"
            }

            switch (known)
            {
                case "WorkspaceConfigFilePath":
                    config.WorkspaceConfigFilePath = ResolvePath(value, home);
                    break;
                case "MonitorExecutablePath":
                    config.MonitorExecutablePath = ResolvePath(value, home);
                    break;
                case "DaemonCommandSocketPath":
                    config.DaemonCommandSocketPath = ResolvePath(value, home);
                    break;
                case "LogDirectory":
                    config.LogDirectory = ResolvePath(value, home);
                    break;
                case "MonitorCrashThreshold":
                    config.MonitorCrashThreshold = ParsePositive(value, known, sourcePath, lineNumber);
                    break;
                case "MonitorCrashWindowSeconds":
                    config.MonitorCrashWindow = TimeSpan.FromSeconds(ParsePositive(value, known, sourcePath, lineNumber));
                    break;
            }
        }

        config.Warnings = warnings;
        return config;
    }

    /// <summary>
    /// The socket's default place: in the home when the path fits sun_path, otherwise in the short
    /// per-user runtime directory, named by a hash of the home so that homes never share a socket.
    /// </summary>
    public static string DefaultSocketPath(string home)
    {
        var inHome = System.IO.Path.Combine(home, "wsyncd.sock");
        if (Encoding.UTF8.GetByteCount(inHome) <= MaxSocketPathBytes)
        {
            return inHome;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(home)))[..16];
        return System.IO.Path.Combine(RuntimeDirectory(), hash + ".sock");
    }

    /// <summary>A short private directory for sockets (the daemon's when the home is deep, ssh control sockets).</summary>
    public static string RuntimeDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(xdg) && Directory.Exists(xdg) && Encoding.UTF8.GetByteCount(xdg) < 40)
        {
            return System.IO.Path.Combine(xdg, "wsync");
        }

        return "/tmp/wsync-" + Wsync.Platform.Posix.EffectiveUserId().ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary><see cref="RuntimeDirectory"/>, created private (0700) if needed.</summary>
    public static string PrivateRuntimeDirectory()
    {
        var directory = RuntimeDirectory();
        EnsurePrivateDirectory(directory);
        return directory;
    }

    /// <summary>Creates <paramref name="path"/> if needed and makes it 0700; refuses one owned by another user.</summary>
    public static void EnsurePrivateDirectory(string path)
    {
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var owner = Wsync.Platform.Posix.Status(path).Owner;
        if (owner != Wsync.Platform.Posix.EffectiveUserId())
        {
            throw new WsyncException(ErrorIds.ConfigInvalid, WsyncErrorCategory.SecurityError, path,
                $"'{path}' belongs to uid {owner}, not to you; wsync will not keep its files there.");
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private string DefaultFileText() => $"""
        # wsync configuration: Key=Value lines; '#' starts a comment; an empty value means the default.
        # Relative paths resolve against {Home}.

        # The JSON array of workspaces and their remotes. Only the daemon writes it.
        WorkspaceConfigFilePath={WorkspaceConfigFilePath}

        # The Unix socket the daemon listens on (at most {MaxSocketPathBytes} bytes).
        DaemonCommandSocketPath={DaemonCommandSocketPath}

        # Where the daemon and the monitors write their logs.
        LogDirectory={LogDirectory}

        # The monitor executable; empty means the wsync-monitor shipped with the daemon.
        MonitorExecutablePath=

        # A workspace whose monitor stops unasked (crashes, or misses its heartbeat) this many times
        # within MonitorCrashWindowSeconds is left stopped, State=Failed, until Resume-WsyncWorkspace.
        MonitorCrashThreshold={DefaultMonitorCrashThreshold}
        MonitorCrashWindowSeconds={DefaultMonitorCrashWindowSeconds}

        """;

    private static string ResolvePath(string value, string home) => System.IO.Path.GetFullPath(ExpandTilde(value), home);

    /// <summary>A whole number of at least 1; anything else names the file and line.</summary>
    private static int ParsePositive(string value, string key, string sourcePath, int lineNumber) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number >= 1
            ? number
            : throw new WsyncConfigException(sourcePath, lineNumber, $"{key} must be a whole number of at least 1, not '{value}'.");

    private static string ExpandTilde(string value) =>
        value == "~" || value.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + value[1..]
            : value;
}
