using System.Diagnostics;

namespace Wsync.TestSupport;

/// <summary>Waiting for a condition with a deadline: the only synchronisation tests use.</summary>
public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> every few milliseconds until it holds; throws with <paramref name="what"/> past the deadline.</summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        var interval = 2;
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.");
            }

            Thread.Sleep(interval);
            interval = Math.Min(interval * 2, 50);
        }
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        var interval = 2;
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.");
            }

            await Task.Delay(interval).ConfigureAwait(false);
            interval = Math.Min(interval * 2, 50);
        }
    }
}
