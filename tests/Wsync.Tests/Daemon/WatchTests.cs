using System.Collections.Concurrent;
using Wsync.Daemon;
using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>The daemon's event stream (Watch-WsyncWorkspace's): delivery, bounds, and watchers that go away.</summary>
public sealed class WatchTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TempDirectory temp = new("ww");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task A_watcher_that_never_reads_holds_a_bounded_queue_and_then_hears_how_many_it_lost()
    {
        var hub = new EventHub(queueCapacity: 100);
        using var stalled = hub.Subscribe(null);
        using var other = hub.Subscribe(["elsewhere"]);

        for (var i = 0; i < 10_000; i++)
        {
            hub.Publish(new SyncEvent { Time = DateTimeOffset.UtcNow, Kind = SyncEventKind.BatchSent, Workspace = "web", Files = i });
        }

        var taken = await stalled.TakeAsync(CancellationToken.None);

        // The oldest hundred, in order, then one event that counts the rest: nothing else was kept.
        Assert.Equal(101, taken.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), taken.Take(100).Select(e => e.Files));
        Assert.Equal(SyncEventKind.EventsDropped, taken[^1].Kind);
        Assert.Equal(9_900, taken[^1].Dropped);

        // Caught up, it hears new events again; a watcher of another workspace heard none of these.
        hub.Publish(new SyncEvent { Time = DateTimeOffset.UtcNow, Kind = SyncEventKind.WorkspaceAdded, Workspace = "WEB" });
        Assert.Equal(SyncEventKind.WorkspaceAdded, Assert.Single(await stalled.TakeAsync(CancellationToken.None)).Kind);
        using var none = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => other.TakeAsync(none.Token));
    }

    [Fact]
    public async Task A_watcher_hears_the_daemon_and_is_dropped_when_it_disconnects_or_cancels()
    {
        using var daemon = DaemonProcess.Start(temp.Combine("home"));
        using var admin = await TestClient.ConnectAsync(daemon.SocketPath);
        var heard = new EventList();
        var watcher = await TestClient.ConnectAsync(daemon.SocketPath);
        var watching = watcher.Daemon.WatchAsync(new WatchRequest(), heard, CancellationToken.None);
        await Poll.UntilAsync(async () => await WatcherCount(admin) == 1, Deadline, "the watch to start");

        await admin.Call(admin.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("web") }, CancellationToken.None));

        Poll.Until(() => heard.Any(e => e.Kind == SyncEventKind.WorkspaceAdded && e.Workspace == "web"), Deadline, "WorkspaceAdded for web");

        // Gone without a word (a killed pwsh): the daemon notices the closed socket and lets the watcher go.
        watcher.Dispose();
        await Poll.UntilAsync(async () => await WatcherCount(admin) == 0, Deadline, "the disconnected watcher to be dropped");
        var lost = await Record.ExceptionAsync(() => watching.WaitAsync(Deadline));
        Assert.NotNull(lost);
        Assert.IsNotType<TimeoutException>(lost); // the call ended: the connection is gone

        // Cancelled on a connection that stays open (Ctrl+C in a session that goes on).
        using var cancel = new CancellationTokenSource();
        var second = admin.Daemon.WatchAsync(new WatchRequest { Workspaces = ["WEB"] }, new EventList(), cancel.Token);
        await Poll.UntilAsync(async () => await WatcherCount(admin) == 1, Deadline, "the second watch to start");
        await cancel.CancelAsync();
        await Poll.UntilAsync(async () => await WatcherCount(admin) == 0, Deadline, "the cancelled watcher to be dropped");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Deadline));

        // A name that does not exist is refused like everywhere else.
        var error = await Assert.ThrowsAsync<WsyncException>(() =>
            RpcCall(admin.Daemon.WatchAsync(new WatchRequest { Workspaces = ["nope"] }, new EventList(), CancellationToken.None)));
        Assert.Equal(ErrorIds.WorkspaceNotFound, error.ErrorId);
    }

    private static async Task<int> WatcherCount(TestClient client) =>
        (await client.Call(client.Daemon.GetDaemonInfoAsync(CancellationToken.None))).WatcherCount;

    private static Task RpcCall(Task call) => Wsync.Rpc.RpcErrors.Call(call, "daemon");

    /// <summary>Collects events as the connection delivers them, on its threads.</summary>
    private sealed class EventList : IProgress<SyncEvent>
    {
        private readonly ConcurrentQueue<SyncEvent> events = new();

        public void Report(SyncEvent value) => events.Enqueue(value);

        public bool Any(Func<SyncEvent, bool> predicate) => events.Any(predicate);
    }
}
