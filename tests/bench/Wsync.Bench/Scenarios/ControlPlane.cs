using System.Diagnostics;
using System.Text.Json;

namespace Wsync.Bench.Scenarios;

/// <summary>7. Control plane: Get-WsyncWorkspace round trip in a warm pwsh, and Import-Module wsync in a fresh one.</summary>
internal static class ControlPlane
{
    public const string Name = "7. Control plane";

    private const string Script = """
        param([string] $Module, [int] $Count)
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        Import-Module $Module
        $import = $clock.Elapsed.TotalMilliseconds
        $null = Get-WsyncWorkspace
        $trips = foreach ($i in 1..$Count) {
            $start = [System.Diagnostics.Stopwatch]::GetTimestamp()
            $null = Get-WsyncWorkspace
            [System.Diagnostics.Stopwatch]::GetElapsedTime($start).TotalMilliseconds
        }
        [pscustomobject]@{ Import = $import; RoundTrips = @($trips) } | ConvertTo-Json -Compress
        """;

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        await using var workspace = await WsyncMirror.StartAsync(host, "control-wsync");
        var (imports, trips) = await MeasureAsync(host, host.Daemon.Home, host.Size.PwshSessions);
        var figures = new List<Figure>
        {
            new(Name, "Get-WsyncWorkspace round trip (warm)", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new(trips) }, null),
            new(Name, "Import-Module wsync (fresh pwsh)", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new(imports) }, null),
        };
        var notes = new List<string> { $"{host.Size.PwshSessions} fresh pwsh sessions, {host.Size.RoundTrips} round trips each after one warm-up call." };
        return new ScenarioResult(Name, figures, [new Goal(Name, "round trip ≤ 5 ms median", new Measurements(trips).Median, 5, "ms")], notes);
    }

    /// <summary>
    /// Runs <paramref name="sessions"/> fresh pwsh sessions against the daemon of <paramref name="home"/>: the time
    /// Import-Module took in each, and every warm Get-WsyncWorkspace round trip.
    /// </summary>
    public static async Task<(List<double> Imports, List<double> Trips)> MeasureAsync(BenchHost host, string home, int sessions)
    {
        var script = Path.Combine(host.Root, "local", "control-plane.ps1");
        await File.WriteAllTextAsync(script, Script);
        var imports = new List<double>();
        var trips = new List<double>();
        for (var session = 0; session < sessions; session++)
        {
            var start = new ProcessStartInfo(host.Pwsh[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in host.Pwsh.Skip(1).Concat(["-NoProfile", "-NonInteractive", "-File", script, "-Module", host.Module, "-Count", host.Size.RoundTrips.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                start.ArgumentList.Add(argument);
            }

            // The module finds the bench's daemon through its home, never the user's own.
            start.Environment["WSYNC_HOME"] = home;
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"pwsh failed ({process.ExitCode}): {await error}");
            }

            using var json = JsonDocument.Parse(output.Trim().Split('\n').Last());
            imports.Add(json.RootElement.GetProperty("Import").GetDouble());
            trips.AddRange(json.RootElement.GetProperty("RoundTrips").EnumerateArray().Select(t => t.GetDouble()));
        }

        return (imports, trips);
    }
}
