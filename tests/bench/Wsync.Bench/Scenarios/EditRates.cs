using System.Diagnostics;
using System.Globalization;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 8. Edits at 10 and 20 per second: single-edit latency while the edits keep coming (the next one may arrive
/// before the last batch's processes are ready again), and the CPU each edit costs, every process on both ends
/// counted: the whole machine's busy time during the edits, less that of the same writes into a directory
/// nothing watches, over the edits made. Each contender has the machine to itself for its block; the order
/// rotates between the rates.
/// </summary>
internal static class EditRates
{
    public const string Name = "8. Edits at 10 and 20 per second";

    private const string Unwatched = "the same writes, unwatched";

    /// <summary>USER_HZ: the unit of /proc/stat's counters (100 on Linux).</summary>
    private const double ClockTicks = 100;

    /// <summary>Blocks per contender and rate: the CPU figure is their median, so one block that caught something else busy does not make it.</summary>
    private const int Blocks = 4;

    private static readonly int[] Rates = [10, 20];

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        using var probe = new LandingProbe();
        var latency = new Dictionary<int, Dictionary<string, List<double>>>();
        var cpu = new Dictionary<int, Dictionary<string, List<double>>>();
        await using (var wsync = await WsyncVariants.StartAsync(host, "rate", probe))
        {
            var contenders = new List<(string Name, WsyncMirror? Mirror)> { (Unwatched, null) };
            contenders.AddRange(wsync.All.Select(v => (v.Name, (WsyncMirror?)v.Mirror)));

            var unwatched = host.LocalDirectory("rate-unwatched");
            var blocks = host.Size.Smoke ? 1 : Blocks;
            var perBlock = host.Size.Edits / blocks;
            foreach (var rate in Rates)
            {
                latency[rate] = contenders.Where(c => c.Mirror is not null).ToDictionary(c => c.Name, _ => new List<double>());
                cpu[rate] = contenders.ToDictionary(c => c.Name, _ => new List<double>());
                for (var block = 0; block < blocks; block++)
                {
                    for (var turn = 0; turn < contenders.Count; turn++)
                    {
                        var (name, mirror) = contenders[(turn + block) % contenders.Count];
                        var (samples, busy) = await EditAtRateAsync(mirror, unwatched, probe, rate, perBlock);
                        latency[rate].GetValueOrDefault(name)?.AddRange(samples);
                        cpu[rate][name].Add(busy / perBlock);
                    }
                }
            }
        }

        var figures = new List<Figure>();
        var goals = new List<Goal>();
        foreach (var rate in Rates)
        {
            // Each block against the unwatched block of the same round (they ran side by side).
            var baseline = cpu[rate][Unwatched];
            var perEdit = cpu[rate].Where(c => c.Key != Unwatched)
                .ToDictionary(c => c.Key, c => new Measurements(c.Value.Select((busy, block) => Math.Max(0, busy - baseline[block]))));
            var times = new Figure(Name, $"latency at {rate}/s", "ms", latency[rate].ToDictionary(l => l.Key, l => new Measurements(l.Value)), Contender.WsyncRsync);
            figures.Add(times);
            // No ratio against a zero (a smoke run's few edits may cost less than a clock tick).
            figures.Add(new Figure(Name, $"CPU per edit at {rate}/s", "ms", perEdit, perEdit[Contender.WsyncRsync].Median > 0 ? Contender.WsyncRsync : null));
            goals.Add(new(Name, $"wsync p50 ≤ 1.0 ms at {rate} edits/s", times.Contenders[Contender.Wsync].Median, 1.0, "ms"));
            goals.Add(new(Name, $"wsync CPU per edit ≤ 2 ms at {rate} edits/s", perEdit[Contender.Wsync].Median, 2.0, "ms"));
        }

        var notes = new List<string>
        {
            $"{host.Size.Edits} edits per contender and rate, in blocks of {host.Size.Edits / (host.Size.Smoke ? 1 : Blocks)} taken in turns, on a fixed schedule (an edit that lands late does not delay the next). " +
            "CPU: the whole machine's busy time (/proc/stat) during a contender's block, less that of the same writes into a directory " +
            $"nothing watches in the same round, over the block's edits; the median of the blocks (the clock ticks every {1000.0 / ClockTicks:0} ms, so a block's figure is ±{1000.0 / ClockTicks / (host.Size.Edits / (host.Size.Smoke ? 1 : Blocks)):0.00} ms).",
        };
        return new ScenarioResult(Name, figures, goals, notes);
    }

    /// <summary>Edits at <paramref name="rate"/> per second; the landing latencies (none for the unwatched directory) and the machine's busy milliseconds.</summary>
    private static async Task<(List<double> Latencies, double BusyMilliseconds)> EditAtRateAsync(WsyncMirror? mirror, string unwatched, LandingProbe probe, int rate, int edits)
    {
        var samples = new List<double>();
        var period = TimeSpan.FromSeconds(1.0 / rate);
        var before = BusyTicks();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < edits; i++)
        {
            var due = period * i;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            if (mirror is null)
            {
                await File.WriteAllBytesAsync(Path.Combine(unwatched, "edit.txt"), SingleEdit.Content(i, "unwatched"));
            }
            else
            {
                samples.Add(await SingleEdit.EditAsync(mirror, probe, i));
            }
        }

        // Let the last edit's work (an rsync re-arming, the agent's reply) finish inside the block.
        var end = period * edits;
        if (end > clock.Elapsed)
        {
            await Task.Delay(end - clock.Elapsed);
        }

        return (samples, (BusyTicks() - before) * 1000.0 / ClockTicks);
    }

    /// <summary>The machine's busy time so far, in clock ticks: every CPU's time not idle and not waiting for I/O.</summary>
    private static long BusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal (guest time is already in user)
        return fields.Take(8).Sum() - fields[3] - fields[4];
    }
}
