using Serilog;

namespace Wsync.Daemon;

/// <summary>One <see cref="MonitorHandle"/> per workspace: started with it, reconfigured with it, stopped with it.</summary>
internal sealed class MonitorSupervisor(string executable, string logDirectory, MonitorRecords records, SupervisionPolicy policy, EventHub events, ILogger log) : IAsyncDisposable
{
    /// <summary>Guards <see cref="handles"/>; held only to look up, add or remove, never across a wait.</summary>
    private readonly Lock gate = new();

    /// <summary>The handle of every workspace that should have a running monitor.</summary>
    private readonly Dictionary<Guid, MonitorHandle> handles = [];

    public int Count
    {
        get
        {
            lock (gate)
            {
                return handles.Count;
            }
        }
    }

    public MonitorHandle? Find(Guid workspaceId)
    {
        lock (gate)
        {
            return handles.GetValueOrDefault(workspaceId);
        }
    }

    /// <summary>Starts the workspace's monitor, or hands the running one its new definition.</summary>
    public Task ApplyAsync(WorkspaceDefinition workspace, CancellationToken cancellationToken)
    {
        MonitorHandle? existing;
        lock (gate)
        {
            existing = handles.GetValueOrDefault(workspace.Id);
            if (existing is null)
            {
                var handle = new MonitorHandle(workspace, executable, logDirectory, records, policy, events, log);
                handles.Add(workspace.Id, handle);
                handle.Start();
                return Task.CompletedTask;
            }
        }

        return existing.ReconfigureAsync(workspace, cancellationToken);
    }

    public async Task StopAsync(Guid workspaceId)
    {
        MonitorHandle? handle;
        lock (gate)
        {
            if (!handles.Remove(workspaceId, out handle))
            {
                return;
            }
        }

        await handle.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        MonitorHandle[] all;
        lock (gate)
        {
            all = [.. handles.Values];
            handles.Clear();
        }

        await Task.WhenAll(all.Select(h => h.DisposeAsync().AsTask())).ConfigureAwait(false);
    }
}
