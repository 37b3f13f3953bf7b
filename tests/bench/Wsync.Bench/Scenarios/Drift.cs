using System.Diagnostics;
using System.Text;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 9. Drift: a mirrored file is overwritten on the remote by something other than wsync; time until the remote
/// holds the workspace's content again (the agent sees the write, the monitor judges it and sends the file
/// back). No other contender undoes such a change: lsyncd and one-shot rsync leave it until the next change
/// or run, so there is nothing to put beside it.
/// </summary>
internal static class Drift
{
    public const string Name = "9. Drift undone";

    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(100);

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        using var probe = new LandingProbe();
        var samples = new List<double>();
        await using (var wsync = await WsyncMirror.StartAsync(host, "drift-wsync"))
        {
            var workspaceFile = Path.Combine(wsync.Workspace, "drift.txt");
            var remoteFile = Path.Combine(wsync.Remotes[0], "drift.txt");
            var content = Encoding.UTF8.GetBytes("as the workspace has it\n");
            probe.Watch(wsync.Remotes[0]);
            await File.WriteAllBytesAsync(workspaceFile, content);
            await LandingProbe.WhenAll([(remoteFile, probe.Expect(remoteFile, content))], TimeSpan.FromSeconds(30));

            for (var i = 0; i < host.Size.Edits; i++)
            {
                // Written in place, as an editor without atomic saves (or a tool) does; its length differs each time.
                var start = Stopwatch.GetTimestamp();
                await File.WriteAllBytesAsync(remoteFile, Encoding.UTF8.GetBytes($"edited on the remote {i} {new string('x', i % 50)}\n"));
                var landed = await LandingProbe.WhenAll([(remoteFile, probe.Expect(remoteFile, content))], TimeSpan.FromSeconds(30));
                samples.Add(Stopwatch.GetElapsedTime(start, landed[0]).TotalMilliseconds);
                await Task.Delay(Gap);
            }

            var remote = (await wsync.StatusAsync()).Remotes[0];
            if (remote.DriftCount < host.Size.Edits)
            {
                throw new InvalidOperationException($"{host.Size.Edits} edits made on the remote, {remote.DriftCount} counted as drift");
            }
        }

        var figure = new Figure(Name, "remote edit to workspace content back", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new(samples) }, null);
        var goals = new List<Goal> { new(Name, "drift undone within 50 ms p50", figure.Contenders[Contender.Wsync].Median, 50, "ms") };
        var notes = new List<string>
        {
            $"{host.Size.Edits} overwrites of one mirrored file on the remote (in place, as root), {Gap.TotalMilliseconds:0} ms apart; " +
            "timed from the write until the remote file holds the workspace's content again (inotify on the remote directory, content compared).",
        };
        return new ScenarioResult(Name, [figure], goals, notes);
    }
}
