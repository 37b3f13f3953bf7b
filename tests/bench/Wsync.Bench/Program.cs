using System.Diagnostics;
using Wsync.Bench;
using Wsync.Bench.Scenarios;

// wsync's benchmark harness: see tests/bench/README.md. Run through `dotnet pwsh ./build.ps1 Bench`.
var smoke = args.Contains("--smoke");
string? output = null;
string? module = null;
var pwsh = new List<string>();
var only = new HashSet<int>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--output": output = args[++i]; break;
        case "--module": module = args[++i]; break;
        case "--pwsh": pwsh.Add(args[++i]); break;
        case "--scenario": only.Add(int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture)); break;
        case "--smoke": break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: Wsync.Bench --output DIR --module wsync.psd1 --pwsh CMD [--pwsh ARG] [--smoke] [--scenario N]...");
            return 64;
    }
}

if (output is null || module is null || pwsh.Count == 0)
{
    Console.Error.WriteLine("--output, --module and --pwsh are required");
    return 64;
}

if (!LsyncdMirror.IsInstalled)
{
    Console.Error.WriteLine("lsyncd is not installed (apt-get install lsyncd): it is one of the contenders.");
    return 2;
}

var scenarios = new (int Number, Func<BenchHost, Task<ScenarioResult>> Run)[]
{
    (1, SingleEdit.RunAsync), (2, Burst.RunAsync), (3, Rename.RunAsync), (4, LargeTree.RunAsync),
    (5, Idle.RunAsync), (6, FanOut.RunAsync), (7, ControlPlane.RunAsync), (8, EditRates.RunAsync),
    (9, Drift.RunAsync), (10, HeadOfLine.RunAsync), (11, HugeTree.RunAsync), (12, InPlace.RunAsync), (13, ManyWorkspaces.RunAsync),
};
var size = smoke ? BenchSize.Tiny : BenchSize.Full;
var clock = Stopwatch.StartNew();
var results = new List<ScenarioResult>();
await using (var host = await BenchHost.StartAsync(size, pwsh, Path.GetFullPath(module)))
{
    // Ctrl+C: stop every process the run started and remove its files before leaving.
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        Console.Error.WriteLine("interrupted: cleaning up");
        host.DisposeAsync().AsTask().Wait();
        Environment.Exit(130);
    };

    foreach (var (number, run) in scenarios.Where(s => only.Count == 0 || only.Contains(s.Number)))
    {
        var started = clock.Elapsed;
        Console.WriteLine($"scenario {number}...");
        var result = await run(host);
        results.Add(result);
        foreach (var figure in result.Figures)
        {
            foreach (var (name, m) in figure.Contenders)
            {
                Console.WriteLine($"  {figure.Name,-32} {name,-40} median {m.Median,10:0.00} {figure.Unit,-3} p95 {m.P95,10:0.00}");
            }
        }

        foreach (var goal in result.Goals)
        {
            Console.WriteLine($"  goal: {goal.Text}: {goal.Actual:0.00} {goal.Unit} {(goal.Met ? "met" : "NOT met")}");
        }

        Console.WriteLine($"  ({(clock.Elapsed - started).TotalSeconds:0} s)");
    }
}

Report.Write(output, results, size, clock.Elapsed);
Console.WriteLine($"report: {Path.Combine(Path.GetFullPath(output), "latest.md")}");
return 0;
