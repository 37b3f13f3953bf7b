namespace Wsync.Bench.Scenarios;

/// <summary>6. Fan-out: single-edit latency, until every remote holds the edit, with one and with N ssh remotes.</summary>
internal static class FanOut
{
    public const string Name = "6. Fan-out";

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var n = host.Size.FanOut;
        using var probe = new LandingProbe();
        var samples = new Dictionary<string, List<double>>();
        await using var one = await WsyncMirror.StartAsync(host, "fan-wsync-1");
        await using var many = await WsyncMirror.StartAsync(host, $"fan-wsync-{n}", remotes: n);
        await using var rsyncOne = await WsyncMirror.StartAsync(host, "fan-wsync-rsync-1", transport: RemoteTransport.Rsync);
        await using var rsyncMany = await WsyncMirror.StartAsync(host, $"fan-wsync-rsync-{n}", remotes: n, transport: RemoteTransport.Rsync);
        await using var lsyncdOne = await LsyncdMirror.StartAsync(host, "fan-lsyncd-1", tuned: true, probe);
        await using var lsyncdMany = await LsyncdMirror.StartAsync(host, $"fan-lsyncd-{n}", tuned: true, probe, remotes: n);
        foreach (var remote in one.Remotes.Concat(many.Remotes).Concat(rsyncOne.Remotes).Concat(rsyncMany.Remotes))
        {
            probe.Watch(remote);
        }

        var turns = new List<(string Name, IMirror Mirror)>
        {
            ($"wsync, 1 remote", one),
            ($"wsync, {n} remotes", many),
            ($"{Contender.WsyncRsync}, 1 remote", rsyncOne),
            ($"{Contender.WsyncRsync}, {n} remotes", rsyncMany),
            ($"{Contender.LsyncdTuned}, 1 remote", lsyncdOne),
            ($"{Contender.LsyncdTuned}, {n} remotes", lsyncdMany),
        };
        for (var i = 0; i < host.Size.FanOutEdits; i++)
        {
            for (var turn = 0; turn < turns.Count; turn++)
            {
                var (name, mirror) = turns[(i + turn) % turns.Count];
                SingleEdit.Add(samples, name, await SingleEdit.EditAsync(mirror, probe, i));
                await Task.Delay(100);
            }
        }

        var figure = new Figure(Name, "latency, last remote", "ms", samples.ToDictionary(s => s.Key, s => new Measurements(s.Value)), "wsync, 1 remote");
        var ratio = figure.Contenders[$"wsync, {n} remotes"].Median / figure.Contenders["wsync, 1 remote"].Median;
        var notes = new List<string> { $"{host.Size.FanOutEdits} edits per contender; the time is until the last of the remotes holds the edit. lsyncd runs one sync block per remote, all through one ControlMaster." };
        return new ScenarioResult(Name, [figure], [new Goal(Name, $"wsync, {n} remotes ≤ 1.5× one remote", ratio, 1.5, "×")], notes);
    }
}
