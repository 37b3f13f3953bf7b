using System.Diagnostics;
using System.Text;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 1. Single-edit latency: write a small file, time until the remote holds it with the right content.
/// The contenders take turns edit by edit (the order rotating), 100 ms apart, so machine noise hits them alike.
/// </summary>
internal static class SingleEdit
{
    public const string Name = "1. Single-edit latency";

    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(100);

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        using var probe = new LandingProbe();
        var samples = new Dictionary<string, List<double>>();
        var notes = new List<string>();
        await using (var wsync = await WsyncVariants.StartAsync(host, "edit", probe))
        await using (var lsyncd = await LsyncdMirror.StartAsync(host, "edit-lsyncd", tuned: true, probe))
        {
            var reference = new ReferenceEdit(host, probe, "edit-rsync");
            var turns = wsync.All.Select(v => (v.Name, Edit: (Func<int, Task<double>>)(i => EditAsync(v.Mirror, probe, i)))).ToList();
            turns.Add((Contender.LsyncdTuned, i => EditAsync(lsyncd, probe, i)));
            turns.Add((Contender.Rsync, reference.EditAsync));

            for (var i = 0; i < host.Size.Edits; i++)
            {
                for (var turn = 0; turn < turns.Count; turn++)
                {
                    var (name, edit) = turns[(i + turn) % turns.Count];
                    Add(samples, name, await edit(i));
                    await Task.Delay(Gap);
                }
            }
        }

        // lsyncd's default delay is 15 s: a handful of edits shows it, 200 would take 50 minutes.
        await using (var lsyncdDefault = await LsyncdMirror.StartAsync(host, "edit-lsyncd-default", tuned: false, probe))
        {
            for (var i = 0; i < host.Size.DefaultLsyncdEdits; i++)
            {
                Add(samples, Contender.LsyncdDefault, await EditAsync(lsyncdDefault, probe, i));
            }
        }

        notes.Add($"{host.Size.Edits} edits per contender (lsyncd with defaults: {host.Size.DefaultLsyncdEdits}, its 15 s delay dominates); " +
            "landing = the remote file holds the new content (inotify on the remote directory, content compared).");
        var figure = new Figure(Name, "latency", "ms", samples.ToDictionary(s => s.Key, s => new Measurements(s.Value)), Contender.Rsync);
        var wsyncMedian = figure.Contenders[Contender.Wsync].Median;
        var goals = new List<Goal>
        {
            new(Name, "wsync p50 ≤ 1.0 ms (the agent over ssh)", wsyncMedian, 1.0, "ms"),
            new(Name, "wsync p50 ≤ 0.5× wsync with -Transport Rsync", wsyncMedian / figure.Contenders[Contender.WsyncRsync].Median, 0.5, "×"),
            new(Name, "wsync p50 ≤ 0.8× tuned lsyncd p50", wsyncMedian / figure.Contenders[Contender.LsyncdTuned].Median, 0.8, "×"),
        };
        if (figure.Contenders.TryGetValue(Contender.WsyncBash, out var bashFigure))
        {
            goals.Add(new(Name, "wsync p50 ≤ 1.0 ms for a bash account with a 100 ms .bashrc", bashFigure.Median, 1.0, "ms"));
        }

        return new ScenarioResult(Name, [figure], goals, notes);
    }

    /// <summary>An edit's content; its length changes with <paramref name="i"/> so that no rsync quick check can mistake it for the previous one.</summary>
    public static byte[] Content(int i, string who) => Encoding.UTF8.GetBytes($"edit {i} by {who} {new string('x', i % 97)}\n");

    public static async Task<double> EditAsync(IMirror mirror, LandingProbe probe, int i, string file = "edit.txt")
    {
        var content = Content(i, mirror.Name);
        var expectations = mirror.Remotes.Select(r => (Path.Combine(r, file), probe.Expect(Path.Combine(r, file), content))).ToList();
        var start = Stopwatch.GetTimestamp();
        await File.WriteAllBytesAsync(Path.Combine(mirror.Workspace, file), content);
        var landed = await LandingProbe.WhenAll(expectations, TimeSpan.FromSeconds(60));
        return Stopwatch.GetElapsedTime(start, landed.Max()).TotalMilliseconds;
    }

    internal static void Add(Dictionary<string, List<double>> samples, string name, double value)
    {
        if (!samples.TryGetValue(name, out var list))
        {
            samples[name] = list = [];
        }

        list.Add(value);
    }

    /// <summary>The physical reference: after the write, one `rsync -a` of the workspace through a live ControlMaster.</summary>
    private sealed class ReferenceEdit
    {
        private readonly BenchHost host;
        private readonly LandingProbe probe;
        private readonly string source;
        private readonly string remote;
        private readonly string controlPath;

        public ReferenceEdit(BenchHost host, LandingProbe probe, string name)
        {
            this.host = host;
            this.probe = probe;
            source = host.LocalDirectory(name);
            remote = host.RemoteDirectory(name + "-r1");
            controlPath = host.StartMaster().ControlPath;
            probe.Watch(remote);
        }

        public async Task<double> EditAsync(int i)
        {
            var content = Content(i, Contender.Rsync);
            var landed = probe.Expect(Path.Combine(remote, "edit.txt"), content);
            var start = Stopwatch.GetTimestamp();
            await File.WriteAllBytesAsync(Path.Combine(source, "edit.txt"), content);
            host.OneShotRsync(source, remote, controlPath);
            var at = await LandingProbe.WhenAll([(remote, landed)], TimeSpan.FromSeconds(30));
            return Stopwatch.GetElapsedTime(start, at[0]).TotalMilliseconds;
        }
    }
}
