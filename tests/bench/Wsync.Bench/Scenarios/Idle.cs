using System.Globalization;

namespace Wsync.Bench.Scenarios;

/// <summary>5. Idle: CPU time of the daemon and monitor (and their children) over a quiet period. No polling means ≈ 0.</summary>
internal static class Idle
{
    public const string Name = "5. Idle";

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    /// <summary>Clock ticks per second for /proc/PID/stat (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        using var probe = new LandingProbe();
        await using var wsync = await WsyncMirror.StartAsync(host, "idle-wsync");
        await using var lsyncd = await LsyncdMirror.StartAsync(host, "idle-lsyncd", tuned: true, probe);
        probe.Watch(wsync.Remotes[0]);
        await Contender.WaitLiveAsync(wsync, probe, TimeSpan.FromSeconds(30));
        // Idle begins once the last change has settled: the runtime recompiles hot methods (tiered JIT) for
        // a few seconds after activity, which is not polling.
        await Task.Delay(Settle);

        var wsyncBefore = CpuSeconds(host.Daemon.ProcessId);
        var lsyncdBefore = CpuSeconds(lsyncd.ProcessId);
        await Task.Delay(host.Size.Idle);
        var wsyncCpu = CpuSeconds(host.Daemon.ProcessId) - wsyncBefore;
        var lsyncdCpu = CpuSeconds(lsyncd.ProcessId) - lsyncdBefore;

        var figure = new Figure(Name, $"CPU over {host.Size.Idle.TotalSeconds:0} s", "s", new Dictionary<string, Measurements>
        {
            [Contender.Wsync] = new([wsyncCpu]),
            [Contender.LsyncdTuned] = new([lsyncdCpu]),
        }, null);
        var notes = new List<string>
        {
            "utime + stime from /proc of the daemon, its monitors and their children (ssh masters) — for lsyncd, of lsyncd and its children; " +
            $"measured from {Settle.TotalSeconds:0} s after the last change; the clock ticks at 10 ms, so 0.00 means fewer than one tick.",
        };
        return new ScenarioResult(Name, [figure], [new Goal(Name, "wsync CPU ≈ 0 (≤ 0.05 s per minute idle)", wsyncCpu * 60 / host.Size.Idle.TotalSeconds, 0.05, "s")], notes);
    }

    /// <summary>utime + stime of a process and its living descendants, in seconds.</summary>
    public static double CpuSeconds(int pid) => BenchHost.Tree(pid).Sum(p =>
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{p}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    });
}
