using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>
/// 200 clients at once calling Get/Add/Remove: nothing fails but the refusals the contention makes
/// expected, and afterwards the daemon is back to its baseline of sockets, threads and memory.
/// </summary>
[Collection(nameof(LoadCollection))]
public sealed class LoadTests : IDisposable
{
    private const int Clients = 200;

    /// <summary>The 30 s: long enough for tens of thousands of calls over 200 connections.</summary>
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan WarmUpDuration = TimeSpan.FromSeconds(3);

    /// <summary>The few names every client adds and removes: enough contention for refusals, few monitors at a time.</summary>
    private const int SharedNames = 8;

    /// <summary>One call in this many is an Add or a Remove; the rest are Gets.</summary>
    private const int ChangeEvery = 25;

    /// <summary>Thread pool threads the load may leave behind for a while (they retire after idling); a leak would be per client.</summary>
    private const int ThreadMargin = 24;

    /// <summary>Resident memory the load may leave behind once the idle daemon trimmed it; a leak of 200 connections' buffers would exceed it.</summary>
    private const long RssMarginBytes = 8L << 20;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>What a Get/Add/Remove race may answer besides success.</summary>
    private static readonly HashSet<string> ExpectedRefusals =
        [ErrorIds.WorkspaceNameInUse, ErrorIds.WorkspacePathInUse, ErrorIds.WorkspaceNotFound];

    private readonly TempDirectory temp = new("ld");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Two_hundred_concurrent_clients_get_no_unexpected_errors_and_leave_no_leak()
    {
        // Debug: the daemon says when it trimmed its memory, having had no client for a moment.
        using var daemon = DaemonProcess.Start(temp.Combine("home"), new Dictionary<string, string> { ["WSYNC_LOG_LEVEL"] = "Debug" });
        var paths = Enumerable.Range(0, SharedNames).Select(i => temp.CreateDirectory("ws", $"s{i}")).ToArray();

        // Warm-up: a first burst grows the thread pool and the monitors' bookkeeping to their working size under
        // this load; once the clients are gone and the daemon trimmed its heap, that is the baseline. Growth past
        // it after a run ten times longer, trimmed the same way, is what a leak per connection or per call would show.
        await RunClientsAsync(daemon, paths, WarmUpDuration);
        await Poll.UntilAsync(() => Task.FromResult(ConnectedSockets(daemon.ProcessId) == 0), Deadline, "the warm-up connections to close");
        await Poll.UntilAsync(() => Task.FromResult(Trims(daemon) >= 1), Deadline, "the idle daemon to trim its memory");
        var trims = Trims(daemon);
        var baselineThreads = Threads(daemon.ProcessId);
        var baselineRss = ResidentBytes(daemon.ProcessId);

        var (calls, unexpected) = await RunClientsAsync(daemon, paths, LoadDuration);

        Assert.True(unexpected.IsEmpty, $"{unexpected.Count} unexpected errors of {calls} calls, e.g.:\n" + string.Join('\n', unexpected.Take(10)));
        Assert.True(calls > Clients * 10, $"only {calls} calls in {LoadDuration.TotalSeconds} s");
        await Poll.UntilAsync(() => Task.FromResult(ConnectedSockets(daemon.ProcessId) == 0), Deadline,
            $"the daemon's client connections to close (now {ConnectedSockets(daemon.ProcessId)} open)");
        await Poll.UntilAsync(() => Task.FromResult(Threads(daemon.ProcessId) <= baselineThreads + ThreadMargin), Deadline,
            $"the daemon's threads to return near {baselineThreads} (now {Threads(daemon.ProcessId)})");
        await Poll.UntilAsync(() => Task.FromResult(Trims(daemon) > trims), Deadline, "the idle daemon to trim its memory again");
        Assert.True(ResidentBytes(daemon.ProcessId) <= baselineRss + RssMarginBytes,
            $"the daemon's memory after the load is {ResidentBytes(daemon.ProcessId) >> 20} MB, after the warm-up {baselineRss >> 20} MB");

        // Still serving, and its state is what the last answers said.
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        var workspaces = await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None));
        Assert.All(workspaces, w => Assert.StartsWith("s", w.Name));
    }

    /// <summary>Every client connects, then calls in a loop until <paramref name="duration"/> passed; returns the calls made and the unexpected failures.</summary>
    private static async Task<(long Calls, System.Collections.Concurrent.ConcurrentBag<string> Unexpected)> RunClientsAsync(
        DaemonProcess daemon, string[] paths, TimeSpan duration)
    {
        var unexpected = new System.Collections.Concurrent.ConcurrentBag<string>();
        long calls = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            using var client = await TestClient.ConnectAsync(daemon.SocketPath);
            while (clock.Elapsed < duration)
            {
                var roll = random.Next(ChangeEvery * 2);
                var shared = random.Next(paths.Length);
                try
                {
                    switch (roll)
                    {
                        case 0:
                            await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = paths[shared] }, CancellationToken.None));
                            break;
                        case 1:
                            await client.Call(client.Daemon.RemoveWorkspaceAsync($"s{shared}", CancellationToken.None));
                            break;
                        default:
                            await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None));
                            break;
                    }
                }
                catch (WsyncException exception) when (ExpectedRefusals.Contains(exception.ErrorId))
                {
                }
                catch (Exception exception)
                {
                    unexpected.Add(exception.ToString());
                }

                Interlocked.Increment(ref calls);
            }
        })));
        return (calls, unexpected);
    }

    /// <summary>
    /// The daemon's connected Unix sockets: its client connections (its listener is not connected, and its
    /// monitors talk over pipes). Counting all its sockets against a baseline would count the start-up
    /// probe's connection whenever the daemon had not closed it yet.
    /// </summary>
    private static int ConnectedSockets(int pid)
    {
        var inodes = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")
            .Select(TargetOf)
            .Where(target => target?.StartsWith("socket:[", StringComparison.Ordinal) == true)
            .Select(target => target!["socket:[".Length..^1])
            .ToHashSet();

        // /proc/net/unix: Num RefCount Protocol Flags Type St Inode [Path]; St 03 is SS_CONNECTED.
        return File.ReadLines("/proc/net/unix").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(fields => fields.Length >= 7 && fields[5] == "03" && inodes.Contains(fields[6]));
    }

    private static string? TargetOf(string fd)
    {
        try
        {
            return new FileInfo(fd).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>How many times the daemon has said it trimmed its memory.</summary>
    private static int Trims(DaemonProcess daemon) =>
        daemon.Output.Split('\n').Count(line => line.Contains("memory trimmed", StringComparison.Ordinal));

    private static int Threads(int pid) => (int)StatusValue(pid, "Threads:");

    private static long ResidentBytes(int pid) => StatusValue(pid, "VmRSS:") * 1024;

    /// <summary>A number from /proc/PID/status (VmRSS is in kB).</summary>
    private static long StatusValue(int pid, string key) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith(key, StringComparison.Ordinal))[key.Length..]
            .Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The load test runs alone: 200 clients on two cores would make every timing in the other tests lie.</summary>
[CollectionDefinition(nameof(LoadCollection), DisableParallelization = true)]
public sealed class LoadCollection;
