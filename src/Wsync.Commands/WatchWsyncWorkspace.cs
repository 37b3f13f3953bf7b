using System.Management.Automation;

namespace Wsync.Commands;

/// <summary>
/// Streams sync events (batches sent, states changed, errors, monitor restarts) as objects until Ctrl+C,
/// until -TimeoutSec passes, or until a downstream command such as Select-Object -First has enough.
/// </summary>
[Cmdlet(VerbsCommon.Watch, "WsyncWorkspace")]
[OutputType(typeof(SyncEvent))]
public sealed class WatchWsyncWorkspace : WsyncCmdlet
{
    /// <summary>
    /// Events that may wait for the pipeline (a slow Format-Table, a paused host) before new ones are
    /// dropped and counted: the daemon bounds its queue for this watcher, and so does the module.
    /// </summary>
    private const int QueueCapacity = 4096;

    /// <summary>Every name given, from the command line or the pipeline; watched together once input ends.</summary>
    private readonly List<string> patterns = [];

    #region Parameters

    /// <summary>Names of the workspaces to watch; wildcards allowed, resolved when the watch starts. All when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(WorkspaceNameCompleter))]
    [WorkspaceNameTransformation]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Stops watching after this many seconds, quietly; without it, the watch runs until stopped.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue / 1000)]
    public int TimeoutSec { get; set; }

    #endregion

    #region Method overrides

    protected override void ProcessRecord()
    {
        if (Name is not null)
        {
            patterns.AddRange(Name);
        }
    }

    protected override void EndProcessing()
    {
        if (patterns.Count == 0 && MyInvocation.ExpectingInput)
        {
            return; // piped, but nothing came: there is nothing to watch (not "everything")
        }

        var request = new WatchRequest();
        if (patterns.Count > 0)
        {
            List<Workspace> selected = [];
            if (!Try(() => selected = SelectByName(Await(Daemon.GetWorkspacesAsync(Cancellation)), w => w.Name, [.. patterns], ErrorIds.WorkspaceNotFound, "workspace"), patterns.ToArray())
                || selected.Count == 0)
            {
                return;
            }

            request = new WatchRequest { Workspaces = [.. selected.Select(w => w.Name)] };
        }

        Watch(request);
    }

    #endregion

    /// <summary>
    /// Writes the events as they come, on the pipeline thread (they arrive on the connection's threads).
    /// Whatever ends it (Ctrl+C, -TimeoutSec, Select-Object -First throwing through WriteObject), the
    /// call is cancelled on the way out, so the daemon drops this watcher at once.
    /// </summary>
    private void Watch(WatchRequest request)
    {
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        if (TimeoutSec > 0)
        {
            watching.CancelAfter(TimeSpan.FromSeconds(TimeoutSec));
        }

        // Filled on the connection's threads, emptied on the pipeline thread.
        var queue = new SyncEventQueue(QueueCapacity, lost => new SyncEvent
        {
            Time = DateTimeOffset.UtcNow,
            Kind = SyncEventKind.EventsDropped,
            Dropped = lost,
            Message = $"{lost} events were dropped: the pipeline fell {QueueCapacity} behind.",
        });
        try
        {
            var call = Daemon.WatchAsync(request, queue, watching.Token);
            _ = call.ContinueWith(_ => queue.Complete(), TaskScheduler.Default);
            while (Await(queue.WaitAsync(watching.Token).AsTask()))
            {
                foreach (var syncEvent in queue.TakeAll())
                {
                    WriteObject(syncEvent);
                }
            }

            Await(call); // the call ended by itself: the daemon went away or refused
        }
        catch (OperationCanceledException) when (watching.IsCancellationRequested && !Cancellation.IsCancellationRequested)
        {
            // -TimeoutSec passed: the watch simply ends.
        }
        catch (WsyncException exception)
        {
            WriteFailure(exception, request.Workspaces);
        }
        finally
        {
            watching.Cancel();
        }
    }
}
