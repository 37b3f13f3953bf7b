using System.Text.Json;
using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>
/// SIGKILL at random moments during a stream of adds and removes: the workspace file must always be
/// valid and hold exactly the acknowledged changes (plus, at most, the one in flight).
/// </summary>
public sealed class CrashConsistencyTests : IDisposable
{
    private readonly TempDirectory temp = new("cc");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task The_workspace_file_holds_exactly_the_acknowledged_changes_after_a_kill()
    {
        var home = temp.Combine("home");
        var random = new Random(20261125);
        var acknowledged = new HashSet<string>();
        for (var round = 0; round < 6; round++)
        {
            using var daemon = DaemonProcess.Start(home);
            using var client = await TestClient.ConnectAsync(daemon.SocketPath);
            Assert.Equal(acknowledged.Order(), (await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None))).Select(w => w.Name).Order());

            var killAfter = TimeSpan.FromMilliseconds(random.Next(20, 400));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string? inFlight = null;
            var killed = false;
            IReadOnlyList<int> orphans = [];
            for (var step = 0; !killed; step++)
            {
                var name = $"w{round}-{step}";
                var remove = acknowledged.Count > 0 && random.Next(3) == 0;
                var target = remove ? acknowledged.ElementAt(random.Next(acknowledged.Count)) : name;
                inFlight = target;
                Task call = remove
                    ? client.Call(client.Daemon.RemoveWorkspaceAsync(target, CancellationToken.None))
                    : client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("ws", target) }, CancellationToken.None));
                if (clock.Elapsed >= killAfter)
                {
                    orphans = daemon.KillHard();
                    killed = true;
                }

                try
                {
                    await call;
                    if (remove)
                    {
                        acknowledged.Remove(target);
                    }
                    else
                    {
                        acknowledged.Add(target);
                    }

                    inFlight = null;
                }
                catch (WsyncException exception) when (killed && exception.ErrorId == ErrorIds.DaemonUnreachable)
                {
                }
            }

            // Monitors whose daemon died end themselves: no orphan keeps mirroring unsupervised.
            foreach (var monitor in orphans)
            {
                Poll.Until(() => !Processes.IsAlive(monitor), TimeSpan.FromSeconds(10), $"orphaned monitor {monitor} to exit by itself");
            }

            var stored = ReadNames(Path.Combine(home, "wsync-ws-config.json"));
            if (!stored.SetEquals(acknowledged))
            {
                // Only the unacknowledged call may differ: it may have been written just before the kill.
                Assert.NotNull(inFlight);
                stored.SymmetricExceptWith(acknowledged);
                Assert.Equal([inFlight], stored);
                acknowledged.SymmetricExceptWith([inFlight]);
            }
        }
    }

    private static HashSet<string> ReadNames(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        return [.. document.RootElement.EnumerateArray().Select(w => w.GetProperty("Name").GetString()!)];
    }
}
