using System.Diagnostics;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 2. Burst: extract a tarball of many small files into the workspace; time until the remote tree is
/// identical. Each round extracts into a new directory, so no contender has to delete the last round first.
/// </summary>
internal static class Burst
{
    public const string Name = "2. Burst (tarball extracted)";

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var size = host.Size;
        var tarball = Tarball(host, size.BurstFiles, size.BurstBytes);
        var samples = new Dictionary<string, List<double>>();
        var extraction = new List<double>();
        var timeout = TimeSpan.FromMinutes(5);
        using var probe = new LandingProbe();
        await using (var wsync = await WsyncMirror.StartAsync(host, "burst-wsync"))
        await using (var overRsync = await WsyncMirror.StartAsync(host, "burst-wsync-rsync", transport: RemoteTransport.Rsync))
        await using (var lsyncd = await LsyncdMirror.StartAsync(host, "burst-lsyncd", tuned: true, probe))
        {
            var referenceSource = host.LocalDirectory("burst-rsync");
            var referenceRemote = host.RemoteDirectory("burst-rsync-r1");
            var controlPath = host.StartMaster().ControlPath;
            var turns = new List<(string Name, Func<int, double> Round)>
            {
                (Contender.Wsync, round => ExtractAndWait(wsync, tarball, round, timeout)),
                (Contender.WsyncRsync, round => ExtractAndWait(overRsync, tarball, round, timeout)),
                (Contender.LsyncdTuned, round => ExtractAndWait(lsyncd, tarball, round, timeout)),
                (Contender.Rsync, round =>
                {
                    var target = Path.Combine(referenceSource, $"round-{round}");
                    var extract = Extract(tarball, target);
                    extraction.Add(extract);
                    return extract + host.OneShotRsync(target, Path.Combine(referenceRemote, $"round-{round}"), controlPath);
                }),
            };
            for (var round = 0; round < size.BurstRounds; round++)
            {
                for (var turn = 0; turn < turns.Count; turn++)
                {
                    var (name, run) = turns[(round + turn) % turns.Count];
                    SingleEdit.Add(samples, name, run(round));
                }
            }
        }

        await using (var lsyncdDefault = await LsyncdMirror.StartAsync(host, "burst-lsyncd-default", tuned: false, probe))
        {
            SingleEdit.Add(samples, Contender.LsyncdDefault, ExtractAndWait(lsyncdDefault, tarball, 0, timeout));
        }

        var figure = new Figure(Name, "until identical", "ms", samples.ToDictionary(s => s.Key, s => new Measurements(s.Value)), Contender.Rsync);
        var wsyncMedian = figure.Contenders[Contender.Wsync].Median;
        var goals = new List<Goal>
        {
            new(Name, "wsync ≤ 1.2× (extraction + one-shot rsync)", wsyncMedian / figure.Contenders[Contender.Rsync].Median, 1.2, "×"),
            new(Name, "wsync ahead of tuned lsyncd", wsyncMedian / figure.Contenders[Contender.LsyncdTuned].Median, 1.0, "×"),
        };
        var notes = new List<string>
        {
            $"{size.BurstFiles:N0} files, {size.BurstBytes / (1 << 20):N0} MB in {size.BurstFiles / 100:N0} directories; {size.BurstRounds} rounds " +
            $"(lsyncd with defaults: 1). The reference is extraction ({new Measurements(extraction).Median:N0} ms median) plus `rsync -a` of the extracted tree; " +
            "the mirrors' remotes are watched with inotify (each event re-checks the file it names; when all are there a full content comparison confirms), " +
            "not polled: walking the tree every 10 ms took a core from the mirror being measured.",
        };
        return new ScenarioResult(Name, [figure], goals, notes);
    }

    private static double ExtractAndWait(IMirror mirror, string tarball, int round, TimeSpan timeout)
    {
        using var landing = TreeLanding.Start(Path.Combine(mirror.Remotes[0], $"round-{round}"));
        var start = Stopwatch.GetTimestamp();
        var target = Path.Combine(mirror.Workspace, $"round-{round}");
        Extract(tarball, target);
        var landed = landing.WaitMirrored(target, timeout);
        return Stopwatch.GetElapsedTime(start, landed).TotalMilliseconds;
    }

    public static double Extract(string tarball, string target)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(target);
        if (BenchHost.Run("tar", ["-xf", tarball, "-C", target]) != 0)
        {
            throw new InvalidOperationException($"tar -xf {tarball} failed");
        }

        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>A tarball of <paramref name="files"/> files (100 per directory) totalling about <paramref name="bytes"/> bytes, sizes spread 0–2× the mean.</summary>
    public static string Tarball(BenchHost host, int files, int bytes)
    {
        var source = host.LocalDirectory("burst-source");
        var random = new Random(42);
        var mean = bytes / files;
        var buffer = new byte[mean * 2 + 1];
        for (var i = 0; i < files; i++)
        {
            var directory = Path.Combine(source, $"d{i / 100:D3}");
            Directory.CreateDirectory(directory);
            random.NextBytes(buffer);
            File.WriteAllBytes(Path.Combine(directory, $"f{i:D5}.dat"), buffer.AsSpan(0, random.Next(buffer.Length)).ToArray());
        }

        var tarball = Path.Combine(host.Root, "local", "burst.tar");
        if (BenchHost.Run("tar", ["-cf", tarball, "-C", source, "."]) != 0)
        {
            throw new InvalidOperationException("tar -cf failed");
        }

        return tarball;
    }
}
