namespace Wsync.Daemon;

/// <summary>The daemon's check that a running monitor still answers: a stopped or wedged one is killed and counted as a crash.</summary>
internal static class Heartbeat
{
    /// <summary>
    /// Pings the monitor every <see cref="SupervisionPolicy.HeartbeatInterval"/>. Completes with the reason
    /// when a ping goes unanswered past the timeout; never completes otherwise (a channel that fails is
    /// seen by the caller as the process exiting), and ends quietly when cancelled.
    /// </summary>
    public static async Task<string?> RunAsync(IMonitor monitor, SupervisionPolicy policy, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(policy.HeartbeatInterval, cancellationToken).ConfigureAwait(false);
                try
                {
                    await monitor.PingAsync(cancellationToken).WaitAsync(policy.HeartbeatTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return $"it did not answer a heartbeat within {policy.HeartbeatTimeout.TotalSeconds:0.#} s";
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
