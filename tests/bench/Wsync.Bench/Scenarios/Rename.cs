using System.Diagnostics;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 3. Rename a large directory: seconds and bytes sent until the remote matches. Each contender reaches the
/// sshd through its own counting proxy; the reference re-runs `rsync -a --delete` after the rename.
/// </summary>
internal static class Rename
{
    public const string Name = "3. Rename a large directory";

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var size = host.Size;
        var seconds = new Dictionary<string, List<double>>();
        var megabytes = new Dictionary<string, List<double>>();
        var timeout = TimeSpan.FromMinutes(5);
        using var probe = new LandingProbe();
        var proxies = new List<CountingProxy>();
        CountingProxy Proxy()
        {
            var proxy = new CountingProxy(host.Ssh.Port);
            host.Ssh.TrustPort(proxy.Port);
            proxies.Add(proxy);
            return proxy;
        }

        try
        {
            var wsyncProxy = Proxy();
            var lsyncdProxy = Proxy();
            var referenceProxy = Proxy();
            await using (var wsync = await WsyncMirror.StartAsync(host, "rename-wsync", workspace: Fill(host, "rename-wsync"), port: wsyncProxy.Port))
            await using (var lsyncd = await LsyncdMirror.StartAsync(host, "rename-lsyncd", tuned: true, probe, workspace: Fill(host, "rename-lsyncd"), port: lsyncdProxy.Port))
            {
                var referenceSource = Fill(host, "rename-rsync");
                var referenceRemote = host.RemoteDirectory("rename-rsync-r1");
                var controlPath = host.StartMaster(referenceProxy.Port).ControlPath;
                host.OneShotRsync(referenceSource, referenceRemote, controlPath, referenceProxy.Port);
                TreeSignature.WaitMirrored(lsyncd.Workspace, lsyncd.Remotes[0], timeout);
                var turns = new List<(string Name, CountingProxy Proxy, Func<int, long> Round)>
                {
                    (Contender.Wsync, wsyncProxy, round => RenameAndWait(wsync, round, timeout)),
                    (Contender.LsyncdTuned, lsyncdProxy, round => RenameAndWait(lsyncd, round, timeout)),
                    (Contender.Rsync, referenceProxy, round =>
                    {
                        Directory.Move(Path.Combine(referenceSource, Folder(round)), Path.Combine(referenceSource, Folder(round + 1)));
                        host.OneShotRsync(referenceSource, referenceRemote, controlPath, referenceProxy.Port);
                        return Stopwatch.GetTimestamp();
                    }),
                };
                for (var round = 0; round < size.RenameRounds; round++)
                {
                    for (var turn = 0; turn < turns.Count; turn++)
                    {
                        var (name, proxy, run) = turns[(round + turn) % turns.Count];
                        Measure(name, proxy, run, round, seconds, megabytes);
                    }
                }
            }

            var defaultProxy = Proxy();
            await using (var lsyncdDefault = await LsyncdMirror.StartAsync(host, "rename-lsyncd-default", tuned: false, probe, workspace: Fill(host, "rename-lsyncd-default"), port: defaultProxy.Port))
            {
                TreeSignature.WaitMirrored(lsyncdDefault.Workspace, lsyncdDefault.Remotes[0], timeout);
                Measure(Contender.LsyncdDefault, defaultProxy, round => RenameAndWait(lsyncdDefault, round, timeout), 0, seconds, megabytes);
            }
        }
        finally
        {
            proxies.ForEach(p => p.Dispose());
        }

        var time = new Figure(Name, "until identical", "ms", seconds.ToDictionary(s => s.Key, s => new Measurements(s.Value)), Contender.Rsync);
        var bytes = new Figure(Name, "sent to the remote", "MB", megabytes.ToDictionary(s => s.Key, s => new Measurements(s.Value)), Contender.Rsync);
        var goals = new List<Goal>
        {
            new(Name, "wsync < 1 s", time.Contenders[Contender.Wsync].Median, 1000, "ms"),
            new(Name, "wsync < 1 MB sent", bytes.Contenders[Contender.Wsync].Median, 1, "MB"),
        };
        var notes = new List<string>
        {
            $"A directory of {size.RenameFiles} files of {size.RenameFileBytes / 1024:N0} KiB ({(long)size.RenameFiles * size.RenameFileBytes / (1 << 20):N0} MB) renamed; " +
            $"{size.RenameRounds} rounds (lsyncd with defaults: 1). Bytes are counted by a TCP relay in front of sshd (ssh framing and encryption included).",
        };
        return new ScenarioResult(Name, [time, bytes], goals, notes);
    }

    private static void Measure(string name, CountingProxy proxy, Func<int, long> run, int round, Dictionary<string, List<double>> seconds, Dictionary<string, List<double>> megabytes)
    {
        var before = proxy.BytesSent;
        var start = Stopwatch.GetTimestamp();
        var landed = run(round);
        var sent = proxy.BytesSent - before;
        SingleEdit.Add(seconds, name, Stopwatch.GetElapsedTime(start, landed).TotalMilliseconds);
        SingleEdit.Add(megabytes, name, sent / 1e6);
        // Let whatever follows the landing (a late delete pass) finish before the next contender's turn.
        var quiet = proxy.BytesSent;
        do
        {
            quiet = proxy.BytesSent;
            Thread.Sleep(300);
        }
        while (proxy.BytesSent != quiet);
    }

    private static string Folder(int round) => $"big-{round}";

    private static long RenameAndWait(IMirror mirror, int round, TimeSpan timeout)
    {
        Directory.Move(Path.Combine(mirror.Workspace, Folder(round)), Path.Combine(mirror.Workspace, Folder(round + 1)));
        return TreeSignature.WaitMirrored(mirror.Workspace, mirror.Remotes[0], timeout);
    }

    /// <summary>A workspace holding one large directory (big-0) of random files in four subdirectories.</summary>
    private static string Fill(BenchHost host, string name)
    {
        var workspace = host.LocalDirectory(name);
        var random = new Random(7);
        var buffer = new byte[host.Size.RenameFileBytes];
        for (var i = 0; i < host.Size.RenameFiles; i++)
        {
            var directory = Path.Combine(workspace, Folder(0), $"part{i % 4}");
            Directory.CreateDirectory(directory);
            random.NextBytes(buffer);
            File.WriteAllBytes(Path.Combine(directory, $"blob{i:D4}.bin"), buffer);
        }

        return workspace;
    }
}
