using System.Diagnostics;
using System.Globalization;
using Serilog;
using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// The daemon's record of its monitors, in <c>monitors/</c> under the home: <c>ID.pid</c> names the
/// running monitor of workspace ID, and <c>ID.lock</c> is the file each monitor holds an exclusive flock
/// on while it runs. A daemon that dies (SIGKILL, watchdog) leaves its monitors to notice the closed
/// channel, but one may still be finishing a batch when the next daemon starts; that daemon kills every
/// recorded monitor still alive, and a new monitor waits for the lock, so two monitors never mirror one
/// workspace at once.
/// </summary>
internal sealed class MonitorRecords(string directory)
{
    private const string PidSuffix = ".pid";

    public string Directory => directory;

    /// <summary>The file the monitor of <paramref name="workspaceId"/> holds locked while it runs.</summary>
    public string LockFile(Guid workspaceId) => Path.Combine(directory, workspaceId.ToString("D") + ".lock");

    /// <summary>Records that <paramref name="processId"/> is the monitor of <paramref name="workspaceId"/>.</summary>
    public void Record(Guid workspaceId, int processId)
    {
        var path = PidFile(workspaceId);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, processId.ToString(CultureInfo.InvariantCulture));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Forgets the monitor of <paramref name="workspaceId"/> once it has exited.</summary>
    public void Forget(Guid workspaceId)
    {
        try
        {
            File.Delete(PidFile(workspaceId));
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// At start-up: SIGKILLs every monitor a previous daemon recorded that still runs, with its process
    /// group (its rsync and ssh children), checked by its command line so a reused pid is never hit, and
    /// clears the records.
    /// </summary>
    public void KillLeftovers(ILogger log)
    {
        WsyncConfig.EnsurePrivateDirectory(directory);
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*" + PidSuffix))
        {
            var name = Path.GetFileName(path);
            if (Guid.TryParse(name[..^PidSuffix.Length], out var workspaceId)
                && int.TryParse(ReadOrEmpty(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && IsMonitorOf(pid, workspaceId))
            {
                log.Warning("Killing monitor {ProcessId} of workspace {WorkspaceId}, left running by a previous daemon", pid, workspaceId);
                try
                {
                    using var process = Process.GetProcessById(pid);
                    ProcessTree.KillGroup(pid); // the monitor and everything it started, at once
                    process.Kill(); // in case it leads no group (a monitor older than process groups)
                    process.WaitForExit(StopGraces.LeftoverMonitor);
                }
                catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // exited meanwhile
                }
            }

            File.Delete(path);
        }
    }

    private string PidFile(Guid workspaceId) => Path.Combine(directory, workspaceId.ToString("D") + PidSuffix);

    /// <summary>True when <paramref name="pid"/> runs wsync-monitor for <paramref name="workspaceId"/> (from /proc/PID/cmdline).</summary>
    private static bool IsMonitorOf(int pid, Guid workspaceId)
    {
        var arguments = ProcFs.CommandLine(pid);
        var id = arguments.ToList().IndexOf(MonitorHandle.WorkspaceIdArgument);
        return arguments.Count > 0
            && Path.GetFileName(arguments[0]) == "wsync-monitor"
            && id > 0 && id + 1 < arguments.Count
            && Guid.TryParse(arguments[id + 1], out var running) && running == workspaceId;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
