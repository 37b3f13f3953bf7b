namespace Wsync.Daemon;

/// <summary>
/// The one lock in front of the daemon's state. It records who holds it and since when, so the
/// watchdog can tell a deadlock (held past a deadline) from work, and it marks the state poisoned
/// when an operation throws while holding it. Either rings the alarm (<see cref="AlarmAsync"/>): the watchdog waits
/// for it instead of looking every few seconds, so an idle daemon does not wake at all.
/// </summary>
internal sealed class StateLock
{
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>Rings (released) when the state is poisoned, or a holder has had the lock for the deadline.</summary>
    private readonly SemaphoreSlim alarm = new(0);

    /// <summary>Armed while the lock is held (<see cref="deadline"/> ahead), disarmed when it is let go; null until <see cref="WatchFor"/>. Lives as long as the daemon.</summary>
    private Timer? overdue;

    private TimeSpan deadline = Timeout.InfiniteTimeSpan;

    /// <summary>The operation holding the lock, or null when free. Written only by the holder.</summary>
    private volatile string? holder;

    /// <summary>When the current holder took the lock (Environment.TickCount64); meaningful only while <see cref="holder"/> is set.</summary>
    private long heldSince;

    /// <summary>The first failure that escaped an operation holding the lock, and that operation; null while the state is sound. Set once.</summary>
    private volatile StatePoison? poison;

    public StatePoison? Poison => poison;

    /// <summary>The holder and how long it has held the lock, for the watchdog.</summary>
    public (string? Operation, TimeSpan HeldFor) Holder
    {
        get
        {
            var operation = holder;
            return operation is null
                ? (null, TimeSpan.Zero)
                : (operation, TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref heldSince)));
        }
    }

    /// <summary>Completes when the alarm rings (see <see cref="StateLock"/>); a ring is never lost.</summary>
    public Task AlarmAsync(CancellationToken cancellationToken) => alarm.WaitAsync(cancellationToken);

    /// <summary>From now on, a holder that keeps the lock for <paramref name="deadline"/> rings the alarm.</summary>
    public void WatchFor(TimeSpan deadline)
    {
        this.deadline = deadline;
        overdue = new Timer(_ => alarm.Release(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Runs <paramref name="action"/> holding the lock. A <see cref="WsyncException"/> is a refusal and leaves the state sound; anything else poisons it.</summary>
    public async Task<T> RunAsync<T>(string operation, Func<T> action, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref heldSince, Environment.TickCount64);
        holder = operation;
        overdue?.Change(deadline, Timeout.InfiniteTimeSpan);
        try
        {
            return action();
        }
        catch (WsyncException)
        {
            throw;
        }
        catch (Exception exception)
        {
            if (Interlocked.CompareExchange(ref poison, new StatePoison(operation, exception), null) is null)
            {
                alarm.Release();
            }

            throw;
        }
        finally
        {
            overdue?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            holder = null;
            gate.Release();
        }
    }
}

/// <summary>An operation that threw while changing state: what it was, and what it threw.</summary>
internal sealed record StatePoison(string Operation, Exception Exception);
