namespace Wsync.Monitor.Sync;

/// <summary>
/// Whether any remote of the workspace is sending a batch of changes. Arming the next rsync (an rsync,
/// an ssh session and the remote rsync: tens of milliseconds of CPU, see docs/ARCHITECTURE.md) while
/// another remote still sends the same change would slow that send, so a remote that finished first
/// arms only once every send has finished; the last one to finish wakes the others.
/// </summary>
internal sealed class SendActivity
{
    /// <summary>Guards <see cref="sending"/> and <see cref="listeners"/>.</summary>
    private readonly Lock gate = new();

    /// <summary>Sends in flight, over every remote of the workspace.</summary>
    private int sending;

    /// <summary>Called (outside the lock) each time <see cref="sending"/> drops to zero.</summary>
    private readonly List<Action> listeners = [];

    public bool Quiet
    {
        get
        {
            lock (gate)
            {
                return sending == 0;
            }
        }
    }

    public void Subscribe(Action onQuiet)
    {
        lock (gate)
        {
            listeners.Add(onQuiet);
        }
    }

    public void Unsubscribe(Action onQuiet)
    {
        lock (gate)
        {
            listeners.Remove(onQuiet);
        }
    }

    /// <summary>Marks a send in flight until the returned scope is disposed.</summary>
    public Scope Begin()
    {
        lock (gate)
        {
            sending++;
        }

        return new Scope(this);
    }

    private void End()
    {
        Action[] quiet;
        lock (gate)
        {
            if (--sending > 0)
            {
                return;
            }

            quiet = [.. listeners];
        }

        foreach (var listener in quiet)
        {
            listener();
        }
    }

    internal readonly struct Scope(SendActivity activity) : IDisposable
    {
        public void Dispose() => activity.End();
    }
}
