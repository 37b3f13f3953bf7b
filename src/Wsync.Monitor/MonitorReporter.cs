using System.Threading.Channels;
using Serilog;

namespace Wsync.Monitor;

/// <summary>
/// What the monitor tells its daemon (<see cref="IMonitorHost"/>): its status, coalesced over a moment so it is
/// fresh but never a flood, and its events, in order, through a bounded queue that drops (and counts) the
/// newest when the daemon falls behind, so that reporting never stalls a remote's loop.
/// </summary>
internal sealed class MonitorReporter
{
    /// <summary>Status reports are coalesced over this long: fresh within a second, never a flood.</summary>
    private static readonly TimeSpan Throttle = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Events waiting for the daemon before new ones are dropped (and counted). The daemon takes each at once;
    /// this is only for a daemon that is busy or gone, where waiting must not stall a remote's loop.
    /// </summary>
    private const int EventCapacity = 256;

    private readonly IMonitorHost host;
    private readonly Func<WorkspaceStatus> snapshot;
    private readonly Func<(Guid Id, string? Name)> workspace;
    private readonly ILogger log;

    /// <summary>Set when a status report is due; many changes while one is sent make one more.</summary>
    private readonly Channel<bool> wanted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Events for the daemon, sent in order; bounded, dropping the newest when full.</summary>
    private readonly SyncEventQueue events;

    public MonitorReporter(IMonitorHost host, Func<WorkspaceStatus> snapshot, Func<(Guid Id, string? Name)> workspace, ILogger log)
    {
        this.host = host;
        this.snapshot = snapshot;
        this.workspace = workspace;
        this.log = log;
        events = new SyncEventQueue(EventCapacity, lost =>
        {
            var (id, name) = workspace();
            return new SyncEvent
            {
                Time = DateTimeOffset.UtcNow,
                Kind = SyncEventKind.EventsDropped,
                WorkspaceId = id,
                Workspace = name,
                Dropped = lost,
                Message = $"The monitor dropped {lost} events: the daemon fell {EventCapacity} behind.",
            };
        });
        _ = Task.Run(StatusLoopAsync);
        _ = Task.Run(EventLoopAsync);
    }

    /// <summary>The status changed: a report follows within <see cref="Throttle"/>. Never waits.</summary>
    public void Changed() => wanted.Writer.TryWrite(true);

    /// <summary>Queues an event for the daemon, with this workspace's id and name. Never waits.</summary>
    public void Report(SyncEvent syncEvent)
    {
        var (id, name) = workspace();
        events.Report(syncEvent with { WorkspaceId = id, Workspace = name });
    }

    /// <summary>Sends the events in order, one call each; after a backlog that overflowed, says how many were dropped.</summary>
    private async Task EventLoopAsync()
    {
        while (await events.WaitAsync(CancellationToken.None).ConfigureAwait(false))
        {
            foreach (var next in events.TakeAll())
            {
                try
                {
                    await host.ReportEventAsync(next).ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    log.Debug(exception, "Could not report an event");
                }
            }
        }
    }

    private async Task StatusLoopAsync()
    {
        while (await wanted.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            wanted.Reader.TryRead(out _);
            try
            {
                await host.ReportStatusAsync(snapshot()).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                log.Debug(exception, "Could not report status");
            }

            await Task.Delay(Throttle).ConfigureAwait(false);
        }
    }
}
