using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 13. Many workspaces under one daemon of their own: 50 workspaces with one remote each (ten over ssh, the rest
/// local directories). The daemon's RSS, the CPU of the whole family while idle, Get-WsyncWorkspace's round trip
/// from pwsh, and a full daemon restart (a file written in every workspace while it was down) to all InSync.
/// </summary>
internal static class ManyWorkspaces
{
    public const string Name = "13. Many workspaces";

    private const int FilesPerWorkspace = 10;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Cap = TimeSpan.FromMinutes(5);

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var size = host.Size;
        var home = Path.Combine(host.Root, "many-home");
        var workspaces = new List<(string Name, string Path, string Remote)>();
        var daemon = DaemonProcess.Start(home);
        try
        {
            var setUp = Stopwatch.StartNew();
            using (var client = await WsyncClient.ConnectAsync(daemon.SocketPath))
            {
                for (var i = 0; i < size.Workspaces; i++)
                {
                    var name = $"many-{i:D2}";
                    var path = host.LocalDirectory(name);
                    for (var f = 0; f < FilesPerWorkspace; f++)
                    {
                        await File.WriteAllTextAsync(Path.Combine(path, $"file{f}.txt"), $"{name} {f}\n");
                    }

                    var overSsh = i < size.SshWorkspaces;
                    var remote = host.RemoteDirectory(name + "-r1");
                    await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = path, Name = name }, CancellationToken.None));
                    await client.Call(client.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest
                    {
                        Workspace = name,
                        Destination = overSsh ? $"{host.Account.Name}@{host.Ssh.Host}:{remote}" : remote,
                        Name = "r1",
                        Port = overSsh ? host.Ssh.Port : null,
                        IdentityFile = overSsh ? host.Ssh.IdentityFile : null,
                        SshOptions = overSsh ? host.Ssh.SshOptions : [],
                        WaitForInitialSync = true,
                    }, null, CancellationToken.None));
                    workspaces.Add((name, path, remote));
                }
            }

            var attachedIn = setUp.Elapsed;
            await Task.Delay(Settle);
            var rss = LargeTree.CurrentMegabytes(daemon.ProcessId);
            var cpuBefore = Idle.CpuSeconds(daemon.ProcessId);
            await Task.Delay(size.Idle);
            var idleCpu = (Idle.CpuSeconds(daemon.ProcessId) - cpuBefore) * 60 / size.Idle.TotalSeconds;
            var (_, trips) = await ControlPlane.MeasureAsync(host, home, 1);
            var daemonPeak = LargeTree.PeakMegabytes(daemon.ProcessId);

            // A full restart: the daemon and its monitors stop; a file is written in every workspace meanwhile.
            daemon.Dispose();
            var expected = workspaces.Select(w => (Path.Combine(w.Remote, "while-down.txt"), $"{w.Name} while the daemon was down\n")).ToList();
            foreach (var (workspace, (_, content)) in workspaces.Zip(expected))
            {
                await File.WriteAllTextAsync(Path.Combine(workspace.Path, "while-down.txt"), content);
            }

            var restart = Stopwatch.StartNew();
            daemon = DaemonProcess.Start(home);
            using (var client = await WsyncClient.ConnectAsync(daemon.SocketPath))
            {
                await Poll.UntilAsync(async () =>
                {
                    var all = await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None));
                    return all.Count == workspaces.Count
                        && all.All(w => w.State == WorkspaceState.Watching && w.Remotes.All(r => r is { State: RemoteState.InSync, PendingChanges: 0 }))
                        && expected.All(e => File.Exists(e.Item1) && File.ReadAllText(e.Item1) == e.Item2);
                }, Cap, "every workspace InSync after the restart, with what was written while the daemon was down");
            }

            var restarted = restart.Elapsed.TotalMilliseconds;
            var tripFigure = new Measurements(trips);
            var figures = new List<Figure>
            {
                new(Name, "daemon RSS, all attached and idle", "MB", new Dictionary<string, Measurements> { [Contender.Wsync] = new([rss]) }, null),
                new(Name, "idle CPU of the daemon, monitors and agents, per minute", "s", new Dictionary<string, Measurements> { [Contender.Wsync] = new([idleCpu]) }, null),
                new(Name, "Get-WsyncWorkspace round trip (warm pwsh)", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = tripFigure }, null),
                new(Name, "daemon restart to every remote InSync", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new([restarted]) }, null),
            };
            var goals = new List<Goal>
            {
                new(Name, "daemon RSS ≤ 60 MB", Math.Max(rss, daemonPeak), 60, "MB"),
                new(Name, "idle CPU ≈ 0 (≤ 0.05 s per minute, all processes)", idleCpu, 0.05, "s"),
                new(Name, "Get-WsyncWorkspace round trip ≤ 5 ms median", tripFigure.Median, 5, "ms"),
            };
            var notes = new List<string>
            {
                $"{size.Workspaces} workspaces of {FilesPerWorkspace} files, each with one remote ({size.SshWorkspaces} over ssh through the loopback sshd, the rest local directories), " +
                $"under a daemon of their own; added and attached one after another in {attachedIn.TotalSeconds:0.0} s. Daemon peak RSS (VmHWM) {daemonPeak:0.0} MB. " +
                $"Idle CPU over {size.Idle.TotalSeconds:0} s from {Settle.TotalSeconds:0} s after the last change, utime + stime of the daemon and all its descendants. " +
                "The restart: SIGTERM (the monitors stop with the daemon), a file written in each workspace, a new daemon; timed until every remote is InSync and holds that file.",
            };
            return new ScenarioResult(Name, figures, goals, notes);
        }
        finally
        {
            daemon.Dispose();
        }
    }
}
