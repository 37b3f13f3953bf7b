using System.Threading.Channels;

namespace Wsync;

/// <summary>
/// Events between a writer that must never wait and one reader: bounded, and when full the newest event
/// is dropped and counted; the reader then gets one <see cref="SyncEventKind.EventsDropped"/> after what
/// was queued. The monitor's events for the daemon, each watcher in the daemon, and Watch-WsyncWorkspace's
/// pipeline all queue this way.
/// </summary>
public sealed class SyncEventQueue : IProgress<SyncEvent>
{
    private readonly Channel<SyncEvent> events;

    /// <summary>The EventsDropped event to hand the reader, given how many were dropped.</summary>
    private readonly Func<long, SyncEvent> droppedEvent;

    /// <summary>Events dropped since the reader last took the count; changed with Interlocked only.</summary>
    private long dropped;

    public SyncEventQueue(int capacity, Func<long, SyncEvent> droppedEvent)
    {
        this.droppedEvent = droppedEvent;
        events = Channel.CreateBounded<SyncEvent>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            _ => Interlocked.Increment(ref dropped));
    }

    /// <summary>Queues <paramref name="value"/>, or drops and counts it when the queue is full. Never waits.</summary>
    public void Report(SyncEvent value) => events.Writer.TryWrite(value);

    /// <summary>No more events will come: <see cref="WaitAsync"/> answers false once everything was taken.</summary>
    public void Complete() => events.Writer.TryComplete();

    /// <summary>True once there is something to take; false when the queue was completed and everything was taken.</summary>
    public async ValueTask<bool> WaitAsync(CancellationToken cancellationToken) =>
        Interlocked.Read(ref dropped) > 0 || await events.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Every event queued, followed by one EventsDropped when some were dropped since the last call.</summary>
    public List<SyncEvent> TakeAll()
    {
        var taken = new List<SyncEvent>();
        while (events.Reader.TryRead(out var next))
        {
            taken.Add(next);
        }

        if (Interlocked.Exchange(ref dropped, 0) is var lost and > 0)
        {
            taken.Add(droppedEvent(lost));
        }

        return taken;
    }
}
