namespace Wsync.Monitor;

/// <summary>
/// Looks for a workspace root that was not there at the monitor's start (a disk mounted later) with backoff
/// (<see cref="Backoff.RootCheck"/>), until it exists (and, when asked, has entries), then calls back once.
/// One check at a time; <see cref="Stop"/> ends it. Thread-safe.
/// </summary>
internal sealed class RootCheck
{
    /// <summary>Cancels the running check; null when none runs. Set and cleared with Interlocked.</summary>
    private CancellationTokenSource? running;

    /// <summary>Starts checking <paramref name="root"/> unless a check runs; <paramref name="ready"/> is called once it is there.</summary>
    public void Start(string root, bool withEntries, Func<CancellationToken, Task> ready)
    {
        var check = new CancellationTokenSource();
        if (Interlocked.CompareExchange(ref running, check, null) is not null)
        {
            check.Dispose(); // already checking
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                for (var checks = 1; !IsReady(root, withEntries); checks++)
                {
                    await Task.Delay(Backoff.RootCheck.After(checks), check.Token).ConfigureAwait(false);
                }

                await ready(check.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // resumed, or stopping
            }
        });
    }

    /// <summary>Ends the running check, if any (resumed, started, or stopping).</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref running, null) is { } check)
        {
            check.Cancel();
            check.Dispose();
        }
    }

    private static bool IsReady(string root, bool withEntries)
    {
        try
        {
            return Directory.Exists(root) && (!withEntries || Directory.EnumerateFileSystemEntries(root).Any());
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
