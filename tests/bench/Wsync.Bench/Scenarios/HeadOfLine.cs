using System.Diagnostics;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 10. Head-of-line blocking: small edits (10 per second) while a large file (2 GB) goes to the remote, and while
/// a burst of 10,000 small files (scenario 2's tarball, extracted) does, against the same edits with nothing else
/// in flight, for wsync over its agent and with -Transport Rsync. The large file is sparse here, but every byte
/// of it crosses ssh.
/// </summary>
internal static class HeadOfLine
{
    public const string Name = "10. Small edits during a large transfer";

    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan TransferCap = TimeSpan.FromMinutes(10);

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        using var probe = new LandingProbe();
        var tarball = Burst.Tarball(host, host.Size.BurstFiles, host.Size.BurstBytes);
        var figures = new Dictionary<string, Measurements>();
        var goals = new List<Goal>();
        var notes = new List<string>();
        foreach (var (name, transport) in new[] { (Contender.Wsync, RemoteTransport.Agent), (Contender.WsyncRsync, RemoteTransport.Rsync) })
        {
            await using var mirror = await WsyncMirror.StartAsync(host, transport == RemoteTransport.Agent ? "hol-wsync" : "hol-wsync-rsync", transport: transport);
            probe.Watch(mirror.Remotes[0]);
            await Contender.WaitLiveAsync(mirror, probe, TimeSpan.FromSeconds(30));

            var idle = new List<double>();
            for (var i = 0; i < Math.Max(host.Size.Edits / 4, 2); i++)
            {
                idle.Add(await SingleEdit.EditAsync(mirror, probe, i));
                await Task.Delay(Gap);
            }

            var large = Path.Combine(mirror.Workspace, "large.img");
            var remoteLarge = Path.Combine(mirror.Remotes[0], "large.img");
            await using (var file = File.Create(large))
            {
                file.SetLength(host.Size.LargeFile);
            }

            var busy = new List<double>();
            var clock = Stopwatch.StartNew();
            do
            {
                busy.Add(await SingleEdit.EditAsync(mirror, probe, idle.Count + busy.Count));
                await Task.Delay(Gap);
                if (clock.Elapsed > TransferCap)
                {
                    throw new TimeoutException($"{name}: the large file did not land within {TransferCap.TotalMinutes} minutes");
                }
            }
            while (!(File.Exists(remoteLarge) && new FileInfo(remoteLarge).Length == host.Size.LargeFile));

            notes.Add($"{name}: the {host.Size.LargeFile >> 20} MiB file took {clock.Elapsed.TotalSeconds:0.0} s to land; {busy.Count} edits meanwhile, {idle.Count} before it.");
            var (before, during) = (new Measurements(idle), new Measurements(busy));
            figures[$"{name}, nothing else in flight"] = before;
            figures[$"{name}, during the transfer"] = during;
            goals.Add(new(Name, $"{name}: p95 during the transfer ≤ 2× p95 with nothing in flight", during.P95 / before.P95, 2, "×"));
            goals.Add(new(Name, $"{name}: no edit waits more than 1 s during the transfer", during.Values[^1], 1000, "ms"));
            File.Delete(large);

            var burst = await DuringBurstsAsync(host, mirror, probe, tarball, idle.Count + busy.Count);
            figures[$"{name}, during a {host.Size.BurstFiles:N0}-file burst"] = burst;
            goals.Add(new(Name, $"{name}: p95 during a burst ≤ 2× p95 with nothing in flight", burst.P95 / before.P95, 2, "×"));
            goals.Add(new(Name, $"{name}: no edit waits more than 1 s during a burst", burst.Values[^1], 1000, "ms"));
        }

        notes.Add($"The bursts: {BurstRounds} rounds, each the {host.Size.BurstFiles:N0}-file tarball extracted into a new directory of the workspace, edits going on until the remote holds all of it.");
        return new ScenarioResult(Name, [new Figure(Name, "latency", "ms", figures, null)], goals, notes);
    }

    private const int BurstRounds = 3;

    /// <summary>Edits, <see cref="Gap"/> apart, while the tarball is extracted into the workspace and mirrored, round after round.</summary>
    private static async Task<Measurements> DuringBurstsAsync(BenchHost host, WsyncMirror mirror, LandingProbe probe, string tarball, int first)
    {
        var edits = new List<double>();
        for (var round = 0; round < BurstRounds; round++)
        {
            var target = Path.Combine(mirror.Workspace, $"burst-{round}");
            using var landing = TreeLanding.Start(Path.Combine(mirror.Remotes[0], $"burst-{round}"));
            var burst = Task.Run(() =>
            {
                Burst.Extract(tarball, target);
                return landing.WaitMirrored(target, TransferCap);
            });
            do
            {
                edits.Add(await SingleEdit.EditAsync(mirror, probe, first + edits.Count));
                await Task.Delay(Gap);
            }
            while (!burst.IsCompleted);
            await burst;
        }

        return new Measurements(edits);
    }
}
