using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Wsync.Bench;

/// <summary>Writes the results: latest.md (machine, versions, every figure with its ratio, the goals), latest.json (every sample) and latency.png.</summary>
internal static class Report
{
    public static void Write(string directory, IReadOnlyList<ScenarioResult> results, BenchSize size, TimeSpan elapsed)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "latest.md"), Markdown(results, size, elapsed));
        File.WriteAllText(Path.Combine(directory, "latest.json"), JsonSerializer.Serialize(
            results.SelectMany(r => r.Figures).Select(f => new
            {
                f.Scenario,
                Figure = f.Name,
                f.Unit,
                Contenders = f.Contenders.ToDictionary(c => c.Key, c => c.Value.Values),
            }),
            new JsonSerializerOptions { WriteIndented = true }));
        Plot(Path.Combine(directory, "latency.png"), results);
    }

    private static string Markdown(IReadOnlyList<ScenarioResult> results, BenchSize size, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.AppendLine(size.Smoke ? "# wsync benchmark (smoke run: tiny sizes, one round — not figures)" : "# wsync benchmark");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Produced by `dotnet pwsh ./build.ps1 Bench` on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC in {elapsed.TotalMinutes:0.0} min.");
        text.AppendLine();
        foreach (var (key, value) in Machine())
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- **{key}**: {value}");
        }

        text.AppendLine();
        text.AppendLine("All contenders run at once on the same machine, data and loopback sshd, taking turns (the order rotating each round); the remote account's shell is plain /bin/sh (the rows of the bash account: bash, with a ~/.bashrc that takes 100 ms).");
        text.AppendLine();
        text.AppendLine("## Goals");
        text.AppendLine();
        text.AppendLine("| Scenario | Goal | Measured | Met |");
        text.AppendLine("|---|---|---:|:---:|");
        foreach (var goal in results.SelectMany(r => r.Goals))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {goal.Scenario} | {goal.Text} | {Format(goal.Actual)} {goal.Unit} | {(goal.Met ? "yes" : "**no**")} |");
        }

        text.AppendLine();
        text.AppendLine("## Figures");
        text.AppendLine();
        text.AppendLine("Ratios are medians over the reference's median (the physical reference, one-shot `rsync -a` over the same ssh, where it applies).");
        text.AppendLine();
        text.AppendLine("| Scenario | Figure | Contender | n | median | p95 | ratio |");
        text.AppendLine("|---|---|---|---:|---:|---:|---:|");
        foreach (var figure in results.SelectMany(r => r.Figures))
        {
            var reference = figure.Reference is not null && figure.Contenders.TryGetValue(figure.Reference, out var r) ? r.Median : double.NaN;
            foreach (var (name, measurements) in figure.Contenders)
            {
                var ratio = double.IsNaN(reference) ? "" : Format(measurements.Median / reference) + "×";
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {figure.Scenario} | {figure.Name} | {name} | {measurements.Count} | {Format(measurements.Median)} {figure.Unit} | {Format(measurements.P95)} {figure.Unit} | {ratio} |");
            }
        }

        text.AppendLine();
        text.AppendLine("## Notes");
        text.AppendLine();
        foreach (var result in results)
        {
            foreach (var note in result.Notes)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {result.Name}: {note}");
            }
        }

        text.AppendLine();
        text.AppendLine("![Latency distributions](latency.png)");
        return text.ToString();
    }

    private static string Format(double value) => double.IsNaN(value) ? "n/a" : value switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    /// <summary>Box plots (p5, p25, median, p75, p95) of every latency series of scenarios 1 and 6; lsyncd's 15 s default delay is left out of the scale.</summary>
    private static void Plot(string path, IReadOnlyList<ScenarioResult> results)
    {
        var series = results.SelectMany(r => r.Figures)
            .Where(f => f.Unit == "ms" && f.Name.StartsWith("latency", StringComparison.Ordinal))
            .SelectMany(f => f.Contenders.Where(c => c.Key != Contender.LsyncdDefault).Select(c => (Label: $"{f.Scenario[..2]} {c.Key}", c.Value)))
            .ToList();
        var plot = new ScottPlot.Plot();
        for (var i = 0; i < series.Count; i++)
        {
            var m = series[i].Value;
            plot.Add.Box(new ScottPlot.Box
            {
                Position = i,
                WhiskerMin = m.Percentile(5),
                BoxMin = m.Percentile(25),
                BoxMiddle = m.Median,
                BoxMax = m.Percentile(75),
                WhiskerMax = m.P95,
            });
        }

        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, series.Count).Select(i => (double)i)], [.. series.Select(s => Wrap(s.Label))]);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
        plot.Axes.Left.Label.Text = "landing latency, ms (whiskers p5–p95)";
        plot.Axes.SetLimitsY(0, series.Count == 0 ? 1 : series.Max(s => s.Value.P95) * 1.1);
        plot.Title("wsync vs lsyncd vs one-shot rsync: single edits");
        plot.SavePng(path, 1200, 600);
    }

    private static string Wrap(string label) => label.Replace(" (", "\n(", StringComparison.Ordinal).Replace(", ", "\n", StringComparison.Ordinal);

    private static IEnumerable<(string Key, string Value)> Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown";
        var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        yield return ("Machine", $"{cpu}, {Environment.ProcessorCount} cores, {long.Parse(memory, CultureInfo.InvariantCulture) / 1024 / 1024} GiB, Linux {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");
        yield return ("wsync", $"{typeof(Workspace).Assembly.GetName().Version} ({Output("git", "rev-parse", "--short", "HEAD")}), {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
        yield return ("rsync", Output("rsync", "--version").Split('\n')[0]);
        yield return ("OpenSSH", Output("ssh", "-V"));
        yield return ("lsyncd", Output("lsyncd", "--version"));
        yield return ("Data", BenchHost.InMemory ? "workspaces and remotes on a tmpfs the harness mounted: the disk's writeback is not measured" : "workspaces and remotes on the disk (/tmp): mounting a tmpfs needs root");
    }

    private static string Output(string file, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return output.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }
}
