using Serilog;

namespace Wsync.Monitor;

/// <summary>The monitor's side of the channel to the daemon.</summary>
internal sealed class MonitorService(IMonitorHost host, ILogger log) : IMonitor, IAsyncDisposable
{
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private volatile WorkspaceDefinition? workspace;

    /// <summary>Completes when the daemon asked the monitor to shut down.</summary>
    public Task Stopped => stopped.Task;

    public async Task ConfigureAsync(WorkspaceDefinition definition, CancellationToken cancellationToken)
    {
        workspace = definition;
        log.Information("Configured with {Count} remotes", definition.Remotes.Count);
        await host.ReportStatusAsync(new WorkspaceStatus
        {
            WorkspaceId = definition.Id,
            State = definition.Suspended ? WorkspaceState.Suspended : WorkspaceState.Watching,
        }).ConfigureAwait(false);
    }

    public Task SyncAsync(IProgress<SyncProgress>? progress, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<FlushResult> FlushAsync(int timeoutMilliseconds, CancellationToken cancellationToken) =>
        Task.FromResult(new FlushResult { Completed = true });

    public Task<RemoteStatus> WaitForInitialSyncAsync(Guid remoteId, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
        Task.FromResult(new RemoteStatus { RemoteId = remoteId, State = RemoteState.InSync });

    public Task SuspendAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ResumeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<int> PingAsync(CancellationToken cancellationToken) => Task.FromResult(Environment.ProcessId);

    public Task ShutdownAsync(CancellationToken cancellationToken)
    {
        stopped.TrySetResult();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
