using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Bench;

/// <summary>How big a run is: the full benchmark, or the smoke run the test suite makes (each scenario once, tiny).</summary>
internal sealed record BenchSize(
    bool Smoke,
    int Edits,
    int DefaultLsyncdEdits,
    int BurstFiles,
    int BurstBytes,
    int BurstRounds,
    int RenameFiles,
    int RenameFileBytes,
    int RenameRounds,
    int TreeDirectories,
    int TreeFilesPerDirectory,
    int TreeRounds,
    TimeSpan Idle,
    int FanOut,
    int FanOutEdits,
    int PwshSessions,
    int RoundTrips,
    long LargeFile,
    int HugeDirectories,
    int HugeFilesPerDirectory,
    int FloodFiles,
    int InPlaceRounds,
    int Workspaces,
    int SshWorkspaces)
{
    public static BenchSize Full { get; } = new(false, 200, 3, 10_000, 60 << 20, 7, 200, 1 << 20, 5, 10_000, 10, 5, TimeSpan.FromSeconds(60), 8, 100, 5, 200, 2L << 30,
        100_000, 10, 20_000, 3, 50, 10);

    public static BenchSize Tiny { get; } = new(true, 2, 1, 50, 256 << 10, 1, 4, 64 << 10, 1, 20, 5, 1, TimeSpan.FromSeconds(1), 2, 2, 1, 5, 16L << 20,
        30, 3, 12_000, 1, 3, 1);
}

/// <summary>
/// Everything the scenarios share: a temp root, the remote account, one loopback sshd, one wsync daemon,
/// and a register of every process started, stopped by pid (with descendants) at the end.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly List<Process> processes = [];
    private int masters;

    private BenchHost(string root, string diskRoot, BenchSize size, RemoteAccount account, RemoteAccount? bashAccount, SshServer ssh, DaemonProcess daemon, WsyncClient wsync, IReadOnlyList<string> pwsh, string module)
    {
        Root = root;
        DiskRoot = diskRoot;
        Size = size;
        Account = account;
        BashAccount = bashAccount;
        Ssh = ssh;
        Daemon = daemon;
        Wsync = wsync;
        Pwsh = pwsh;
        Module = module;
    }

    public string Root { get; }

    /// <summary>
    /// Where the big scenarios keep their data: on disk, as users' monorepos are (a million files do not belong
    /// in RAM). The same as <see cref="Root"/> when that is not a tmpfs.
    /// </summary>
    public string DiskRoot { get; }

    public BenchSize Size { get; }

    public RemoteAccount Account { get; }

    /// <summary>The realistic account (bash, a 100 ms ~/.bashrc); null without root. The sshd lets both log in.</summary>
    public RemoteAccount? BashAccount { get; }

    public SshServer Ssh { get; }

    public DaemonProcess Daemon { get; }

    public WsyncClient Wsync { get; }

    /// <summary>The pwsh command line (e.g. dotnet + pwsh.dll) for the control-plane scenario.</summary>
    public IReadOnlyList<string> Pwsh { get; }

    /// <summary>The module manifest under test (out/wsync/wsync.psd1).</summary>
    public string Module { get; }

    /// <summary>
    /// Whether the root is a tmpfs the harness mounted (as root): workspaces and remotes then live in RAM, so
    /// what is measured is the tools and not the disk's writeback (on this VM's disk, one-shot rsync of the
    /// large tree took anywhere from 7 to 88 s; on tmpfs, 6.2 to 6.6 s).
    /// </summary>
    public static bool InMemory { get; private set; }

    public static async Task<BenchHost> StartAsync(BenchSize size, IReadOnlyList<string> pwsh, string module)
    {
        var root = Path.Combine("/tmp", "wsync-bench-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(root);
        InMemory = Native.GetEuid() == 0 &&
            global::Wsync.TestSupport.Processes.Run("mount", ["-t", "tmpfs", "-o", "size=12g,mode=0711", "wsync-bench", root]).ExitCode == 0;
        var diskRoot = InMemory ? Path.Combine("/var/tmp", Path.GetFileName(root)) : root;
        Directory.CreateDirectory(diskRoot);
        // The remote account must be able to reach its directories below the roots.
        foreach (var top in new[] { root, diskRoot })
        {
            File.SetUnixFileMode(top, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        RemoteAccount? account = null;
        RemoteAccount? bashAccount = null;
        SshServer? ssh = null;
        DaemonProcess? daemon = null;
        try
        {
            account = RemoteAccount.Create("/var/lib/wsync-bench", message => Console.Error.WriteLine("warning: " + message));
            bashAccount = RemoteAccount.CreateBash("/var/lib/wsync-bench-bash");
            ssh = SshServer.Start(Path.Combine(root, "sshd"), account.Name);
            daemon = DaemonProcess.Start(Path.Combine(root, "wsync-home"));
            var client = await WsyncClient.ConnectAsync(daemon.SocketPath);
            return new BenchHost(root, diskRoot, size, account, bashAccount, ssh, daemon, client, pwsh, module);
        }
        catch
        {
            daemon?.Dispose();
            ssh?.Dispose();
            account?.Dispose();
            bashAccount?.Dispose();
            RemoveRoot(root, diskRoot);
            throw;
        }
    }

    /// <summary>A fresh directory on the local side (a workspace, a source tree); on disk when asked.</summary>
    public string LocalDirectory(string name, bool onDisk = false)
    {
        var path = Path.Combine(onDisk ? DiskRoot : Root, "local", name);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A fresh, empty directory the remote account (or <paramref name="owner"/>) owns (a mirror reached over ssh); on disk when asked.</summary>
    public string RemoteDirectory(string name, RemoteAccount? owner = null, bool onDisk = false)
    {
        var parent = Path.Combine(onDisk ? DiskRoot : Root, "remote");
        if (!Directory.Exists(parent))
        {
            Directory.CreateDirectory(parent);
            Account.Own(parent);
        }

        var path = Path.Combine(parent, name);
        Directory.CreateDirectory(path);
        (owner ?? Account).Own(path);
        return path;
    }

    /// <summary>Empties a remote directory (as root), keeping it and its owner.</summary>
    public static void Empty(string path)
    {
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo directory && (directory.Attributes & FileAttributes.ReparsePoint) == 0)
            {
                directory.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    /// <summary>The ssh command line (for rsync -e and lsyncd) reaching the loopback sshd on <paramref name="port"/>.</summary>
    public IReadOnlyList<string> SshArguments(int port, string? controlPath) =>
    [
        "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-i", Ssh.IdentityFile,
        "-o", $"UserKnownHostsFile={Ssh.KnownHostsFile}",
        "-o", "BatchMode=yes",
        "-o", controlPath is null ? "ControlMaster=no" : $"ControlPath={controlPath}",
    ];

    /// <summary>Starts an ssh ControlMaster to the loopback sshd and waits until it serves.</summary>
    public (string ControlPath, Process Process) StartMaster(int? port = null)
    {
        var controlPath = Path.Combine(Root, $"cm-{Interlocked.Increment(ref masters)}");
        var arguments = new List<string> { "-M", "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=no" };
        arguments.AddRange(SshArguments(port ?? Ssh.Port, controlPath));
        arguments.Add($"{Account.Name}@{Ssh.Host}");
        var process = Start("ssh", arguments);
        Poll.Until(() => Run("ssh", [.. SshArguments(port ?? Ssh.Port, controlPath), "-O", "check", $"{Account.Name}@{Ssh.Host}"]) == 0,
            TimeSpan.FromSeconds(20), "the ssh ControlMaster");
        return (controlPath, process);
    }

    /// <summary>One-shot `rsync -a --delete` of a tree over the same ssh (through <paramref name="controlPath"/>): the physical reference.</summary>
    public double OneShotRsync(string source, string remote, string controlPath, int? port = null)
    {
        var rsh = "ssh " + string.Join(' ', SshArguments(port ?? Ssh.Port, controlPath));
        var clock = Stopwatch.StartNew();
        var exit = Run("rsync", ["-a", "--delete", "-e", rsh, source.TrimEnd('/') + "/", $"{Account.Name}@{Ssh.Host}:{remote.TrimEnd('/')}/"]);
        if (exit != 0)
        {
            throw new InvalidOperationException($"rsync -a {source} failed with {exit}");
        }

        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>Starts a process the host will stop (with its descendants) on dispose.</summary>
    public Process Start(string file, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (processes)
        {
            processes.Add(process);
        }

        return process;
    }

    /// <summary>Stops a started process and its descendants, by pid.</summary>
    public static void Stop(Process process)
    {
        foreach (var pid in Processes.Descendants(process.Id).Append(process.Id))
        {
            Processes.Kill(pid);
        }

        process.WaitForExit();
    }

    /// <summary>The process and all its descendants (for CPU time and RSS).</summary>
    public static IReadOnlyList<int> Tree(int pid) => [pid, .. Processes.Descendants(pid)];

    /// <summary>Runs a program (never a shell) to completion; returns its exit code.</summary>
    public static int Run(string file, IEnumerable<string> arguments) => Processes.Run(file, arguments).ExitCode;

    public async ValueTask DisposeAsync()
    {
        List<Process> started;
        lock (processes)
        {
            started = [.. processes];
        }

        foreach (var process in started.Where(p => !p.HasExited))
        {
            Stop(process);
        }

        Wsync.Dispose();
        Daemon.Dispose();
        if (Environment.GetEnvironmentVariable("WSYNC_BENCH_LOGS") is { Length: > 0 } keep)
        {
            // For looking into a run: the daemon's and monitors' logs (WSYNC_LOG_LEVEL=Debug for detail).
            Directory.CreateDirectory(keep);
            foreach (var log in Directory.EnumerateFiles(Path.Combine(Daemon.Home, "logs")))
            {
                File.Copy(log, Path.Combine(keep, Path.GetFileName(log)), overwrite: true);
            }
        }

        Ssh.Dispose();
        Account.Dispose();
        BashAccount?.Dispose();
        RemoveRoot(Root, DiskRoot);
        await Task.CompletedTask;
    }

    /// <summary>Flushes dirty pages to disk, so that one contender's writeback is not charged to the next.</summary>
    public static void Flush() => global::Wsync.TestSupport.Processes.RunChecked("sync", []);

    private static void RemoveRoot(string root, string diskRoot)
    {
        if (diskRoot != root)
        {
            Directory.Delete(diskRoot, recursive: true);
        }

        if (InMemory)
        {
            global::Wsync.TestSupport.Processes.RunChecked("umount", [root]);
            Directory.Delete(root);
            return;
        }

        Directory.Delete(root, recursive: true);
    }
}
