using System.Globalization;
using System.Text;

namespace Wsync.Engine;

/// <summary>
/// The systemd user unit that starts one home's daemon at login (or at boot, with lingering), and the
/// launcher it runs: pure text, written by <see cref="DaemonRegistration"/>. One unit per home, named
/// after it: <c>wsyncd.service</c> for the default home, <c>wsyncd-&lt;escaped home&gt;.service</c> for any other.
/// </summary>
public static class SystemdUnit
{
    /// <summary>The launcher's file name in the home.</summary>
    public const string LauncherName = "wsyncd-launcher";

    /// <summary>
    /// The exits after which restarting cannot help; restarting a daemon that found another holding its home
    /// (AlreadyRunning) would loop for good.
    /// </summary>
    public static readonly string NoRestartExitCodes = string.Join(' ',
        new[] { DaemonExit.ConfigurationUnusable, DaemonExit.AlreadyRunning, DaemonExit.Usage, DaemonExit.NotInstalled }.Select(exit => (int)exit));

    /// <summary>
    /// The launcher: runs the daemon of the newest wsync installed in the folder it is given, restoring the
    /// execute bits a package install drops, so that after Update-PSResource the next start runs the new daemon.
    /// Its paths arrive as arguments and are only ever expanded inside double quotes: never read as shell code.
    /// </summary>
    public const string Launcher = """
        #!/bin/sh
        # Written by Register-WsyncDaemon, which rewrites it; run by the wsyncd systemd user unit.
        # $1: a wsync module folder (with bin/) or the folder of every installed version (wsync/<version>/bin/).
        # The newest version's daemon runs with the other arguments.
        set -eu
        modules=$1
        shift
        case $(uname -m) in
            x86_64 | amd64) rid=linux-x64 ;;
            aarch64 | arm64) rid=linux-arm64 ;;
            *) echo "wsyncd-launcher: wsync has no daemon for $(uname -m)" >&2; exit 66 ;;
        esac
        if [ -f "$modules/bin/$rid/wsyncd" ]; then
            bin=$modules/bin/$rid
        else
            newest=$(ls -1 -- "$modules" 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+){1,3}$' | sort -V | tail -n 1) || true
            if [ -z "$newest" ] || [ ! -f "$modules/$newest/bin/$rid/wsyncd" ]; then
                echo "wsyncd-launcher: no wsync for $rid is installed in $modules; run Register-WsyncDaemon again from the wsync you use" >&2
                exit 66
            fi
            bin=$modules/$newest/bin/$rid
        fi
        chmod u+x "$bin/wsyncd" "$bin/wsync-monitor" 2>/dev/null || true
        exec "$bin/wsyncd" "$@"
        """;

    /// <summary>The unit's file name for <paramref name="home"/>.</summary>
    public static string Name(string home) =>
        Path.TrimEndingDirectorySeparator(home) == Path.TrimEndingDirectorySeparator(WsyncConfig.DefaultHome())
            ? "wsyncd.service"
            : $"wsyncd-{EscapePath(home)}.service";

    /// <summary>The unit's text: the launcher, the module folder and the home, as systemd reads them.</summary>
    public static string Text(string home, string launcher, string modules, string? path)
    {
        var unit = new StringBuilder();
        unit.Append(CultureInfo.InvariantCulture, $"""
            # Written by Register-WsyncDaemon; Unregister-WsyncDaemon removes it.
            [Unit]
            Description=wsync daemon for {Escape(home)}
            StartLimitIntervalSec=600
            StartLimitBurst=5

            [Service]
            Type=exec
            ExecStart={Quote(launcher)} {Quote(modules)} --home {Quote(home)}
            Restart=on-failure
            RestartSec=2
            RestartPreventExitStatus={NoRestartExitCodes}
            KillMode=mixed
            TimeoutStopSec=30

            """);
        if (path is not null)
        {
            unit.Append("Environment=").Append(Quote("PATH=" + path)).Append('\n');
        }

        unit.Append("""

            [Install]
            WantedBy=default.target

            """);
        return unit.ToString();
    }

    /// <summary>
    /// One word of a systemd command line or assignment: double-quoted, with '\' and '"' escaped, '%' (a
    /// specifier) and '$' (a variable) doubled, and control characters as \xNN.
    /// </summary>
    public static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in value)
        {
            quoted.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '%' => "%%",
                '$' => "$$",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>systemd-escape --path: '/' becomes '-', anything but [A-Za-z0-9:_.] (and a leading '.') becomes \xNN.</summary>
    public static string EscapePath(string path)
    {
        var trimmed = path.Trim('/');
        var escaped = new StringBuilder();
        var bytes = Encoding.UTF8.GetBytes(trimmed);
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b == '/')
            {
                escaped.Append('-');
            }
            else if ((char.IsAsciiLetterOrDigit((char)b) || b is (byte)':' or (byte)'_' or (byte)'.') && !(b == '.' && i == 0))
            {
                escaped.Append((char)b);
            }
            else
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }

        return escaped.Length == 0 ? "-" : escaped.ToString();
    }

    /// <summary>Text for a unit's Description: specifiers doubled, control characters dropped.</summary>
    private static string Escape(string value) => new string([.. value.Where(c => !char.IsControl(c))]).Replace("%", "%%", StringComparison.Ordinal);
}
