namespace Wsync.Daemon;

/// <summary>
/// One daemon per home and per workspace file: an exclusive lock held for the daemon's life on
/// <c>wsyncd.lock</c> in the home and on a lock beside the workspace file. The kernel drops it when
/// the process dies, however it dies. The pid goes to <c>wsyncd.pid</c> for "already running" messages.
/// </summary>
internal sealed class InstanceLock : IDisposable
{
    private readonly List<FileStream> locks;
    private readonly string pidFile;

    private InstanceLock(List<FileStream> locks, string pidFile)
    {
        this.locks = locks;
        this.pidFile = pidFile;
    }

    /// <summary>Takes the locks, or returns null and the running daemon's pid (0 if unknown).</summary>
    public static InstanceLock? TryAcquire(WsyncConfig config, out int holderPid)
    {
        holderPid = 0;
        var pidFile = Path.Combine(config.Home, "wsyncd.pid");
        var held = new List<FileStream>();
        foreach (var path in new[] { Path.Combine(config.Home, "wsyncd.lock"), config.WorkspaceConfigFilePath + ".lock" })
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                held.Add(new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None, // flock(LOCK_EX | LOCK_NB) on Unix
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                }));
            }
            catch (IOException)
            {
                foreach (var stream in held)
                {
                    stream.Dispose();
                }

                try
                {
                    holderPid = int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) ? pid : 0;
                }
                catch (IOException)
                {
                }

                return null;
            }
        }

        File.WriteAllText(pidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.SetUnixFileMode(pidFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new InstanceLock(held, pidFile);
    }

    public void Dispose()
    {
        try
        {
            File.Delete(pidFile);
        }
        catch (IOException)
        {
        }

        foreach (var stream in locks)
        {
            stream.Dispose();
        }
    }
}
