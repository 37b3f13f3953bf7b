namespace Wsync.Monitor.Sync;

/// <summary>
/// How far a remote has got through its pending set's generations, and who waits for it: Wait-WsyncWorkspace
/// (until a generation is on the remote), Connect-WsyncRemote and Sync-WsyncWorkspace (until then, or the first
/// failed attempt covering it: fail-fast), and their progress listeners. Thread-safe.
/// </summary>
internal sealed class Generations
{
    private readonly Lock gate = new();

    /// <summary>The highest generation whose changes are all on the remote. Guarded by <see cref="gate"/>.</summary>
    private long completed;

    /// <summary>
    /// The highest generation an attempt failed for since the last completion covered it; -1 when none. A
    /// fail-fast caller that asks after the attempt failed hears it too, not only those already waiting.
    /// Guarded by <see cref="gate"/>.
    /// </summary>
    private long failedUpTo = -1;

    /// <summary>Callers waiting for a generation. Guarded by <see cref="gate"/>.</summary>
    private readonly List<(long Generation, bool FailFast, TaskCompletionSource<bool> Done)> waiters = [];

    /// <summary>Where a full reconcile's progress goes while someone waits with a listener. Guarded by <see cref="gate"/>.</summary>
    private readonly List<IProgress<SyncProgress>> listeners = [];

    public long Completed
    {
        get
        {
            lock (gate)
            {
                return completed;
            }
        }
    }

    /// <summary>
    /// Completes with true once every change up to <paramref name="generation"/> is on the remote; with false if
    /// <paramref name="failFast"/> and an attempt covering it failed, or at once if it is and the remote is halted.
    /// </summary>
    public Task<bool> WaitForAsync(long generation, bool failFast, bool halted, IProgress<SyncProgress>? listener, CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool> done;
        lock (gate)
        {
            if (completed >= generation)
            {
                return Task.FromResult(true);
            }

            if (failFast && (halted || failedUpTo >= generation))
            {
                return Task.FromResult(false); // nothing is sent until Resume, or the attempt already failed
            }

            done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((generation, failFast, done));
            if (listener is not null)
            {
                listeners.Add(listener);
            }
        }

        return listener is null
            ? done.Task.WaitAsync(cancellationToken)
            : Unlisten(done.Task.WaitAsync(cancellationToken), listener);
    }

    /// <summary>Every change up to <paramref name="generation"/> is on the remote: its waiters are done.</summary>
    public void Complete(long generation)
    {
        var done = Take(waiter => waiter.Generation <= completed, () =>
        {
            completed = Math.Max(completed, generation);
            failedUpTo = failedUpTo <= completed ? -1 : failedUpTo;
        });
        foreach (var waiter in done)
        {
            waiter.TrySetResult(true);
        }
    }

    /// <summary>
    /// An attempt covering every change up to <paramref name="generation"/> failed: its fail-fast waiters are
    /// told, now and until a success covers it. Null tells those waiting now (the remote was halted).
    /// </summary>
    public void Fail(long? generation)
    {
        foreach (var waiter in Take(waiter => waiter.FailFast && (generation is null || waiter.Generation <= generation),
            () => failedUpTo = generation is { } failed ? Math.Max(failedUpTo, failed) : failedUpTo))
        {
            waiter.TrySetResult(false);
        }
    }

    /// <summary>Hands a full reconcile's progress to whoever listens.</summary>
    public void Progress(SyncProgress progress)
    {
        IProgress<SyncProgress>[] current;
        lock (gate)
        {
            current = [.. listeners];
        }

        foreach (var listener in current)
        {
            listener.Report(progress);
        }
    }

    /// <summary>The remote is gone: every waiter is cancelled.</summary>
    public void CancelAll()
    {
        foreach (var waiter in Take(_ => true, null))
        {
            waiter.TrySetCanceled();
        }
    }

    private List<TaskCompletionSource<bool>> Take(Func<(long Generation, bool FailFast, TaskCompletionSource<bool> Done), bool> which, Action? first)
    {
        var taken = new List<TaskCompletionSource<bool>>();
        lock (gate)
        {
            first?.Invoke();
            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (which(waiters[i]))
                {
                    taken.Add(waiters[i].Done);
                    waiters.RemoveAt(i);
                }
            }
        }

        return taken;
    }

    private async Task<bool> Unlisten(Task<bool> waiting, IProgress<SyncProgress> listener)
    {
        try
        {
            return await waiting.ConfigureAwait(false);
        }
        finally
        {
            lock (gate)
            {
                listeners.Remove(listener);
            }
        }
    }
}
