namespace Wsync.Daemon;

/// <summary>
/// Hands every <see cref="SyncEvent"/> (the monitors' and the daemon's own) to each Watch-WsyncWorkspace
/// caller. Publishing never waits and never allocates per watcher beyond a bounded queue: a watcher that
/// stalls (a stopped pwsh, a client that does not read its socket) loses events, counted, and can never
/// slow a monitor, the state lock or another client, nor make the daemon grow.
/// </summary>
internal sealed class EventHub
{
    /// <summary>
    /// Events a watcher may fall behind by before new ones are dropped. A person or a script sees a few
    /// events a second (one per batch per remote); 1,024 covers minutes of a busy workspace stalled
    /// behind a slow pipeline, and costs at most about 0.5 MB (events are a few hundred bytes).
    /// </summary>
    public const int DefaultQueueCapacity = 1024;

    private readonly int queueCapacity;

    /// <summary>Guards replacing <see cref="subscriptions"/>; never held while publishing.</summary>
    private readonly Lock gate = new();

    /// <summary>Every live subscription; replaced on subscribe and dispose (copy on write), so <see cref="Publish"/> reads it without the lock.</summary>
    private volatile Subscription[] subscriptions = [];

    public EventHub(int queueCapacity = DefaultQueueCapacity) => this.queueCapacity = queueCapacity;

    /// <summary>Watchers being served now.</summary>
    public int Count => subscriptions.Length;

    /// <summary>Starts queueing the events of <paramref name="workspaces"/> (null: all) for one watcher; dispose to stop.</summary>
    public Subscription Subscribe(IReadOnlyList<string>? workspaces)
    {
        var subscription = new Subscription(this, workspaces is null ? null : new HashSet<string>(workspaces, StringComparer.OrdinalIgnoreCase), queueCapacity);
        lock (gate)
        {
            subscriptions = [.. subscriptions, subscription];
        }

        return subscription;
    }

    /// <summary>Queues <paramref name="syncEvent"/> for every watcher of its workspace. Never waits.</summary>
    public void Publish(SyncEvent syncEvent)
    {
        foreach (var subscription in subscriptions)
        {
            subscription.Offer(syncEvent);
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (gate)
        {
            subscriptions = [.. subscriptions.Where(s => s != subscription)];
        }
    }

    /// <summary>One watcher's queue: bounded, dropping the newest event when full and counting what it dropped.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly EventHub hub;

        /// <summary>The workspace names watched, case-insensitive; null for all.</summary>
        private readonly HashSet<string>? workspaces;

        private readonly SyncEventQueue queue;

        public Subscription(EventHub hub, HashSet<string>? workspaces, int capacity)
        {
            this.hub = hub;
            this.workspaces = workspaces;
            queue = new SyncEventQueue(capacity, lost => new SyncEvent
            {
                Time = DateTimeOffset.UtcNow,
                Kind = SyncEventKind.EventsDropped,
                Dropped = lost,
                Message = $"{lost} events were dropped because this watcher fell {capacity} events behind.",
            });
        }

        /// <summary>
        /// Waits for events, then returns every one queued, followed by one <see cref="SyncEventKind.EventsDropped"/>
        /// when some were dropped since the last call.
        /// </summary>
        public async Task<List<SyncEvent>> TakeAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                await queue.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (queue.TakeAll() is { Count: > 0 } taken)
                {
                    return taken;
                }
            }
        }

        public void Dispose() => hub.Remove(this);

        internal void Offer(SyncEvent syncEvent)
        {
            if (workspaces is null || (syncEvent.Workspace is { } name && workspaces.Contains(name)))
            {
                queue.Report(syncEvent);
            }
        }
    }
}
