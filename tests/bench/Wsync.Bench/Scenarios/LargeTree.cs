using System.Diagnostics;
using System.Globalization;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 4. Large tree: from Connect-WsyncRemote to InSync against one-shot rsync of the same tree; the time to
/// watch every directory after Add-WsyncWorkspace; and the peak RSS of the daemon and the monitor.
/// </summary>
internal static class LargeTree
{
    public const string Name = "4. Large tree";

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var size = host.Size;
        var tree = Generate(host, size.TreeDirectories, size.TreeFilesPerDirectory);
        var directories = (int)TreeSignature.Of(tree).Directories + 1;
        var initial = new List<double>();
        var reference = new List<double>();
        var watches = new List<double>();
        var monitorPeak = new List<double>();
        var controlPath = host.StartMaster().ControlPath;
        for (var round = 0; round < size.TreeRounds; round++)
        {
            var workspaceName = $"tree-{round}";
            var start = Stopwatch.GetTimestamp();
            await host.Wsync.Call(host.Wsync.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = tree, Name = workspaceName }, CancellationToken.None));
            Workspace? status = null;
            await Wsync.TestSupport.Poll.UntilAsync(async () =>
            {
                status = (await host.Wsync.Call(host.Wsync.Daemon.GetWorkspacesAsync(CancellationToken.None))).Single(w => w.Name == workspaceName);
                return status.WatchedDirectories >= directories;
            }, TimeSpan.FromMinutes(5), $"{directories} watched directories");
            watches.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);

            var remote = host.RemoteDirectory($"tree-wsync-r{round}");
            start = Stopwatch.GetTimestamp();
            await host.Wsync.Call(host.Wsync.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest
            {
                Workspace = workspaceName,
                Destination = $"{host.Account.Name}@{host.Ssh.Host}:{remote}",
                Port = host.Ssh.Port,
                IdentityFile = host.Ssh.IdentityFile,
                SshOptions = host.Ssh.SshOptions,
                WaitForInitialSync = true,
            }, null, CancellationToken.None));
            initial.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (TreeSignature.Of(remote) != TreeSignature.Of(tree))
            {
                throw new InvalidOperationException($"wsync reported InSync but {remote} does not match {tree}");
            }

            monitorPeak.Add(PeakMegabytes(status!.MonitorProcessId ?? throw new InvalidOperationException("no monitor pid")));
            await host.Wsync.Call(host.Wsync.Daemon.RemoveWorkspaceAsync(workspaceName, CancellationToken.None));
            reference.Add(host.OneShotRsync(tree, host.RemoteDirectory($"tree-rsync-r{round}"), controlPath));
        }

        var files = (long)size.TreeDirectories * size.TreeFilesPerDirectory;
        var daemonPeak = PeakMegabytes(host.Daemon.ProcessId);
        var figures = new List<Figure>
        {
            new(Name, "attach to InSync", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new(initial), [Contender.Rsync] = new(reference) }, Contender.Rsync),
            new(Name, "watch every directory", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new(watches) }, null),
            new(Name, "peak RSS, monitor", "MB", new Dictionary<string, Measurements> { [Contender.Wsync] = new(monitorPeak) }, null),
            new(Name, "peak RSS, daemon (whole run so far)", "MB", new Dictionary<string, Measurements> { [Contender.Wsync] = new([daemonPeak]) }, null),
        };
        var goals = new List<Goal>
        {
            new(Name, "attach to InSync ≤ 1.1× one-shot rsync", new Measurements(initial).Median / new Measurements(reference).Median, 1.1, "×"),
            new(Name, "monitor peak RSS ≤ 40 MB", monitorPeak.Max(), 40, "MB"),
            new(Name, "daemon peak RSS ≤ 60 MB", daemonPeak, 60, "MB"),
        };
        var notes = new List<string>
        {
            $"{files:N0} files in {directories:N0} directories; {size.TreeRounds} rounds, each a fresh workspace and empty remotes. " +
            "Peak RSS is VmHWM from /proc.",
        };
        return new ScenarioResult(Name, figures, goals, notes);
    }

    /// <summary>VmHWM (peak resident set) of a process, in MB.</summary>
    public static double PeakMegabytes(int pid) => StatusMegabytes(pid, "VmHWM:");

    /// <summary>VmRSS (resident set now) of a process, in MB.</summary>
    public static double CurrentMegabytes(int pid) => StatusMegabytes(pid, "VmRSS:");

    private static double StatusMegabytes(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        var kilobytes = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return kilobytes / 1024.0;
    }

    /// <summary>√n top directories of √n subdirectories each, <paramref name="perDirectory"/> small files in every subdirectory.</summary>
    private static string Generate(BenchHost host, int directories, int perDirectory)
    {
        var root = host.LocalDirectory("tree");
        var fanOut = (int)Math.Sqrt(directories);
        var content = new byte[120];
        for (var d = 0; d < directories; d++)
        {
            var directory = Path.Combine(root, $"top{d / fanOut:D3}", $"sub{d % fanOut:D3}");
            Directory.CreateDirectory(directory);
            for (var f = 0; f < perDirectory; f++)
            {
                content[0] = (byte)f;
                content[1] = (byte)d;
                File.WriteAllBytes(Path.Combine(directory, $"file{f:D2}.txt"), content);
            }
        }

        return root;
    }
}
