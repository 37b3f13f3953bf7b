using System.Text.Json;
using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>
/// The watchdog, driven by the daemon's test-only fault hooks: state an operation left poisoned, or a
/// state lock never released, ends the daemon with its own exit code and a fatal log entry; the
/// workspace file still holds exactly what was acknowledged, and a fresh daemon serves it.
/// </summary>
public sealed class WatchdogTests : IDisposable
{

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TempDirectory temp = new("wd");

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("throw-in-state", "failed while changing state")]
    [InlineData("hold-state-lock", "has held the state lock")]
    public async Task A_poisoned_or_deadlocked_state_ends_the_daemon_and_a_fresh_one_serves_what_was_acknowledged(string fault, string diagnosis)
    {
        var home = temp.Combine("home");
        using (var daemon = DaemonProcess.Start(home, new Dictionary<string, string>
        {
            ["WSYNC_FAULT_INJECTION"] = $"{fault}:doomed",
            ["WSYNC_STATE_LOCK_DEADLINE_MS"] = "1000", // the deadlock deadline, 30 s in real use
        }))
        {
            using var client = await TestClient.ConnectAsync(daemon.SocketPath);
            await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("kept") }, CancellationToken.None));
            Poll.Until(() => daemon.MonitorProcessIds().Count == 1, Deadline, "the monitor of 'kept'");
            var monitors = daemon.MonitorProcessIds();
            daemon.ExpectOrphans(monitors);

            var doomed = client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("doomed") }, CancellationToken.None));

            Assert.Equal((int)DaemonExit.EndedByWatchdog, daemon.WaitForExit(Deadline));
            await Assert.ThrowsAsync<WsyncException>(() => doomed); // never acknowledged
            foreach (var monitor in monitors)
            {
                Poll.Until(() => !Processes.IsAlive(monitor), Deadline, $"monitor {monitor} to exit with its daemon");
            }
        }

        var fatal = FatalEntries(Path.Combine(home, "logs"));
        var entry = Assert.Single(fatal);
        Assert.Contains("AddWorkspace", entry);
        Assert.Contains(diagnosis, entry);
        Assert.Equal(["kept"], ReadNames(Path.Combine(home, "wsync-ws-config.json")));

        using var fresh = DaemonProcess.Start(home);
        using var again = await TestClient.ConnectAsync(fresh.SocketPath);
        Assert.Equal("kept", Assert.Single(await again.Call(again.Daemon.GetWorkspacesAsync(CancellationToken.None))).Name);
        await again.Call(again.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.Combine("doomed") }, CancellationToken.None));
        Assert.Equal(["doomed", "kept"], ReadNames(Path.Combine(home, "wsync-ws-config.json")).Order());
        Poll.Until(() => fresh.MonitorProcessIds().Count == 2, Deadline, "both monitors under the fresh daemon");
    }

    /// <summary>The daemon log's Fatal events (compact JSON, level in "@l"), each as its line.</summary>
    private static List<string> FatalEntries(string logDirectory) =>
        [.. Directory.EnumerateFiles(logDirectory, "wsyncd-*.clef").SelectMany(File.ReadLines)
            .Where(line => line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal))];

    private static HashSet<string> ReadNames(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        return [.. document.RootElement.EnumerateArray().Select(w => w.GetProperty("Name").GetString()!)];
    }
}
