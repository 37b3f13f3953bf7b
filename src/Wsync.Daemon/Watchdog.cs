namespace Wsync.Daemon;

/// <summary>
/// Watches the daemon's state lock. State that an operation left half-changed (it threw while holding
/// the lock) or a lock that is never released (a deadlock) cannot be served safely; the watchdog
/// reports it so the daemon ends, and the next cmdlet starts a fresh one that reloads the workspace file
/// (which holds exactly what was acknowledged, because it is written before anything is published).
/// </summary>
internal sealed class Watchdog(StateLock stateLock, TimeSpan deadline)
{
    /// <summary>Two seconds: a fault is caught before a user's next command, and an idle daemon wakes rarely.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>No operation holds the lock for more than the time of one file write; 30 s of holding is a deadlock, not a slow disk.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Completes with what is wrong once the state is poisoned or deadlocked; never completes while it is sound. Ends quietly when cancelled.</summary>
    public async Task<string?> WatchAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(CheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Check() is { } fault)
                {
                    return fault;
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
