namespace Wsync.Daemon;

/// <summary>
/// Watches the daemon's state lock. State that an operation left half-changed (it threw while holding
/// the lock) or a lock that is never released (a deadlock) cannot be served safely; the watchdog
/// reports it so the daemon ends, and the next cmdlet starts a fresh one that reloads the workspace file
/// (which holds exactly what was acknowledged, because it is written before anything is published).
/// </summary>
internal sealed class Watchdog(StateLock stateLock, TimeSpan deadline)
{
    /// <summary>
    /// Once the lock's alarm rang: how often a holder near the deadline is looked at again. The watchdog never
    /// polls otherwise: at every 2 s, the checks alone (and the thread pool they kept awake) cost an idle daemon
    /// 0.02 CPU-seconds a minute.
    /// </summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>No operation holds the lock for more than the time of one file write; 30 s of holding is a deadlock, not a slow disk.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Completes with what is wrong once the state is poisoned or deadlocked; never completes while it is sound. Ends quietly when cancelled.</summary>
    public async Task<string?> WatchAsync(CancellationToken cancellationToken)
    {
        stateLock.WatchFor(deadline);
        try
        {
            while (true)
            {
                await stateLock.AlarmAsync(cancellationToken).ConfigureAwait(false);

                // Rung: a poison, or a holder at the deadline (by the timer's clock; the holder's own may say a
                // hair less). Look until it is a fault or the lock is free again.
                while (stateLock.Poison is not null || stateLock.Holder.Operation is not null)
                {
                    if (Check() is { } fault)
                    {
                        return fault;
                    }

                    await Task.Delay(CheckInterval, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    /// <summary>What is wrong with the state now, or null.</summary>
    public string? Check()
    {
        if (stateLock.Poison is { } poison)
        {
            return $"the operation {poison.Operation} failed while changing state ({poison.Exception.GetType().Name}: {poison.Exception.Message}); the state in memory cannot be trusted";
        }

        var (operation, heldFor) = stateLock.Holder;
        return operation is not null && heldFor > deadline
            ? $"the operation {operation} has held the state lock for {heldFor.TotalSeconds:0.#} s (deadline {deadline.TotalSeconds:0.#} s): a deadlock"
            : null;
    }
}
