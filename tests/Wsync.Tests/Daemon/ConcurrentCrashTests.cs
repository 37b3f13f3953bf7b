using System.Text.Json;
using Wsync.TestSupport;
using Wsync.Tests.Monitor;

namespace Wsync.Tests.Daemon;

/// <summary>
/// SIGKILL of the daemon in the middle of 100 concurrent Add/Remove/Connect calls from many clients:
/// the next daemon serves at once, the workspace file holds every acknowledged change, each workspace
/// ends up with exactly one monitor (a leftover of the dead daemon included), and the remotes converge.
/// </summary>
public sealed class ConcurrentCrashTests : IDisposable
{
    private const int Existing = 30;
    private const int Removes = 15;
    private const int Adds = 70;
    private const int Clients = 20;

    /// <summary>The kill comes once this many calls were answered: mid-burst, with the rest in flight.</summary>
    private const int KillAfter = 40;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly TempDirectory temp = new("kc");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task A_daemon_killed_during_a_burst_of_concurrent_changes_leaves_acknowledged_state_one_monitor_each_and_converging_remotes()
    {
        var home = temp.Combine("home");
        using var first = DaemonProcess.Start(home);
        var clients = new List<TestClient>();
        for (var c = 0; c < Clients; c++)
        {
            clients.Add(await TestClient.ConnectAsync(first.SocketPath));
        }

        // Existing workspaces, each with content: the first ones will be removed, the others get a remote.
        for (var i = 0; i < Existing; i++)
        {
            var path = temp.CreateDirectory("ws", $"e{i}");
            File.WriteAllText(Path.Combine(path, "content"), $"workspace {i}");
            await clients[0].Call(clients[0].Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = path }, CancellationToken.None));
        }

        // A monitor that cannot notice its daemon's death: only the next daemon can end it.
        var frozenWorkspace = (await clients[0].Call(clients[0].Daemon.GetWorkspacesAsync(CancellationToken.None))).Single(w => w.Name == $"e{Existing - 1}");
        Poll.Until(() => Processes.Monitors(frozenWorkspace.Id.ToString()).Count == 1, Deadline, "the monitor to freeze");
        var frozen = Processes.Monitors(frozenWorkspace.Id.ToString()).Single();
        Syscall.Stop(frozen);

        var answered = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var operations = new List<Operation>();
        for (var i = 0; i < Removes; i++)
        {
            operations.Add(new Operation(Kind.Remove, $"e{i}"));
        }

        for (var i = Removes; i < Existing; i++)
        {
            operations.Add(new Operation(Kind.Connect, $"e{i}"));
        }

        for (var i = 0; i < Adds; i++)
        {
            operations.Add(new Operation(Kind.Add, $"n{i}"));
        }

        var paths = operations.Where(o => o.Kind == Kind.Add).ToDictionary(o => o.Name, o => temp.CreateDirectory("ws", o.Name));
        var mirrors = operations.Where(o => o.Kind == Kind.Connect).ToDictionary(o => o.Name, o => temp.CreateDirectory("mirror", o.Name));
        var calls = operations.Select((operation, index) => Task.Run(async () =>
        {
            var client = clients[index % Clients];
            try
            {
                await (operation.Kind switch
                {
                    Kind.Add => client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = paths[operation.Name] }, CancellationToken.None)),
                    Kind.Remove => client.Call(client.Daemon.RemoveWorkspaceAsync(operation.Name, CancellationToken.None)),
                    _ => (Task)client.Call(client.Daemon.ConnectRemoteAsync(
                        new ConnectRemoteRequest { Workspace = operation.Name, Destination = mirrors[operation.Name], Name = "mirror" }, null, CancellationToken.None)),
                });
                operation.Acknowledged = true;
            }
            catch (WsyncException exception) when (exception.ErrorId == ErrorIds.DaemonUnreachable && killed.Task.IsCompleted)
            {
            }

            if (Interlocked.Increment(ref answered) == KillAfter)
            {
                killed.TrySetResult(); // first: the calls the kill cuts off must see it
                first.KillHard();
            }
        })).ToList();
        await Task.WhenAll(calls).WaitAsync(Deadline);
        Assert.True(killed.Task.IsCompleted);

        first.ExpectOrphans([frozen]);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        // The stored state: every acknowledged change, nothing that was never asked for.
        var stored = ReadWorkspaces(Path.Combine(home, "wsync-ws-config.json"));
        foreach (var operation in operations.Where(o => o.Acknowledged))
        {
            switch (operation.Kind)
            {
                case Kind.Add:
                    Assert.True(stored.ContainsKey(operation.Name), $"acknowledged add of {operation.Name} lost");
                    break;
                case Kind.Remove:
                    Assert.False(stored.ContainsKey(operation.Name), $"acknowledged remove of {operation.Name} lost");
                    break;
                case Kind.Connect:
                    Assert.Equal(["mirror"], stored[operation.Name].Remotes);
                    break;
            }
        }

        Assert.Subset(operations.Select(o => o.Name).ToHashSet(), stored.Keys.ToHashSet());
        foreach (var operation in operations.Where(o => o.Kind == Kind.Connect))
        {
            Assert.True(stored.ContainsKey(operation.Name), $"{operation.Name} was never removed");
        }

        // The next call starts (here: meets) a fresh daemon, which serves the stored state.
        using var second = DaemonProcess.Start(home);
        using var again = await TestClient.ConnectAsync(second.SocketPath);
        var served = await again.Call(again.Daemon.GetWorkspacesAsync(CancellationToken.None));
        Assert.Equal(stored.Keys.Order(), served.Select(w => w.Name).Order());

        // Exactly one monitor per stored workspace, none for any other: the frozen leftover was killed.
        Poll.Until(() => !Processes.IsAlive(frozen), Deadline, "the leftover frozen monitor to be killed by the new daemon");
        await Poll.UntilAsync(() => Task.FromResult(MonitorsByWorkspace(home).Count == stored.Count
                && MonitorsByWorkspace(home).All(m => m.Value == 1 && stored.Values.Any(w => w.Id == m.Key))),
            Deadline, "one monitor per workspace");

        // Every remote converges.
        foreach (var (name, workspace) in stored.Where(w => w.Value.Remotes.Count > 0))
        {
            await again.Call(again.Daemon.WaitWorkspaceAsync(name, (int)Deadline.TotalMilliseconds, CancellationToken.None));
            MirrorSetup.AssertMirrored(workspace.Path, mirrors[name]);
        }
    }

    /// <summary>How many monitor processes run for each workspace id of this home (the home is in every monitor's arguments).</summary>
    private static Dictionary<Guid, int> MonitorsByWorkspace(string home) =>
        Processes.Monitors(home)
            .Select(pid => Processes.CommandLine(pid))
            .Select(arguments => arguments.SkipWhile(a => a != "--workspace-id").Skip(1).FirstOrDefault())
            .Where(id => id is not null)
            .GroupBy(id => Guid.Parse(id!))
            .ToDictionary(g => g.Key, g => g.Count());

    private static Dictionary<string, StoredWorkspace> ReadWorkspaces(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        return document.RootElement.EnumerateArray().ToDictionary(
            w => w.GetProperty("Name").GetString()!,
            w => new StoredWorkspace(
                w.GetProperty("Id").GetGuid(),
                w.GetProperty("Path").GetString()!,
                w.TryGetProperty("Remotes", out var remotes) ? [.. remotes.EnumerateArray().Select(r => r.GetProperty("Name").GetString()!)] : []));
    }

    private enum Kind
    {
        Add,
        Remove,
        Connect,
    }

    private sealed class Operation(Kind kind, string name)
    {
        public Kind Kind => kind;

        public string Name => name;

        /// <summary>Set when the daemon answered success; written by the call's task, read after all ended.</summary>
        public volatile bool Acknowledged;
    }

    private sealed record StoredWorkspace(Guid Id, string Path, List<string> Remotes);
}
