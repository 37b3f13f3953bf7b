namespace Wsync.Daemon;

/// <summary>
/// The daemon's side of one monitor's channel (<see cref="IMonitorHost"/>): it keeps the newest status the
/// monitor reported and hands its events to the watchers, named after the workspace as the user knows it now.
/// </summary>
internal sealed class MonitorReports(EventHub events, Func<(string Name, Guid Id)> workspace) : IMonitorHost
{
    private readonly Lock gate = new();

    /// <summary>The last status the monitor reported; null until its first report after a start. Written under <see cref="gate"/>.</summary>
    private volatile WorkspaceStatus? latest;

    public WorkspaceStatus? Latest => latest;

    public Task ReportStatusAsync(WorkspaceStatus report)
    {
        Observe(report);
        return Task.CompletedTask;
    }

    public Task ReportEventAsync(SyncEvent syncEvent)
    {
        // The monitor knows its remotes; the daemon names the workspace, as the user knows it now.
        Publish(syncEvent);
        return Task.CompletedTask;
    }

    /// <summary>Keeps the newest status: reports and call results may arrive out of order.</summary>
    public void Observe(WorkspaceStatus? report)
    {
        if (report is null)
        {
            return;
        }

        lock (gate)
        {
            if (latest is null || report.Sequence > latest.Sequence)
            {
                latest = report;
            }
        }
    }

    /// <summary>The monitor exited: what it reported no longer holds.</summary>
    public void Forget() => latest = null;

    /// <summary>Hands an event to the watchers, named after the workspace. Never waits.</summary>
    public void Publish(SyncEvent syncEvent)
    {
        var (name, id) = workspace();
        events.Publish(syncEvent with { Workspace = name, WorkspaceId = id });
    }
}
