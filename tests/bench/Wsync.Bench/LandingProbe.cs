using System.Collections.Concurrent;
using System.Diagnostics;

namespace Wsync.Bench;

/// <summary>
/// Tells when a file lands on a (loopback) remote with the expected content, without spinning: inotify on
/// the remote directories wakes it the moment rsync renames its temporary file into place; a slow re-check
/// every 20 ms covers anything an event could miss. The timestamp is taken when the event is read, before
/// the content is compared.
/// </summary>
internal sealed class LandingProbe : IDisposable
{
    private static readonly TimeSpan Recheck = TimeSpan.FromMilliseconds(20);

    private readonly Inotify inotify = new();
    private readonly Thread reader;
    private readonly ConcurrentDictionary<int, string> directories = new();
    private readonly ConcurrentDictionary<string, Expectation> waiting = new();
    private volatile bool disposed;

    public LandingProbe()
    {
        reader = new Thread(Run) { IsBackground = true, Name = "landing probe" };
        reader.Start();
    }

    /// <summary>Watches a remote directory whose files will be expected.</summary>
    public void Watch(string directory)
    {
        directories[inotify.Watch(directory, Native.InMovedTo | Native.InCloseWrite | Native.InCreate)] = directory;
    }

    /// <summary>Completes with the Stopwatch timestamp at which <paramref name="path"/> first held <paramref name="content"/>.</summary>
    public Task<long> Expect(string path, byte[] content)
    {
        var expectation = new Expectation(content);
        waiting[path] = expectation;
        Check(path, expectation, Stopwatch.GetTimestamp());
        return expectation.Landed.Task;
    }

    /// <summary>Waits for every expectation, or throws naming the paths that did not land in time.</summary>
    public static async Task<long[]> WhenAll(IReadOnlyList<(string Path, Task<long> Landed)> expectations, TimeSpan timeout)
    {
        var all = Task.WhenAll(expectations.Select(e => e.Landed));
        if (await Task.WhenAny(all, Task.Delay(timeout)).ConfigureAwait(false) != all)
        {
            var late = expectations.Where(e => !e.Landed.IsCompleted).Select(e => e.Path);
            throw new TimeoutException($"Not landed within {timeout.TotalSeconds:0.#} s: {string.Join(", ", late)}");
        }

        return await all.ConfigureAwait(false);
    }

    public void Dispose()
    {
        disposed = true;
        reader.Join();
        inotify.Dispose();
    }

    private void Check(string path, Expectation expectation, long timestamp)
    {
        byte[] actual;
        try
        {
            actual = File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return;
        }

        if (actual.AsSpan().SequenceEqual(expectation.Content) && waiting.TryRemove(new KeyValuePair<string, Expectation>(path, expectation)))
        {
            expectation.Landed.TrySetResult(timestamp);
        }
    }

    private void Run()
    {
        var lastRecheck = Stopwatch.GetTimestamp();
        while (!disposed)
        {
            inotify.Wait((int)Recheck.TotalMilliseconds);
            var now = Stopwatch.GetTimestamp();
            foreach (var (wd, _, name) in inotify.Read())
            {
                if (directories.TryGetValue(wd, out var directory) && waiting.TryGetValue(Path.Combine(directory, name), out var expectation))
                {
                    Check(Path.Combine(directory, name), expectation, now);
                }
            }

            if (Stopwatch.GetElapsedTime(lastRecheck) >= Recheck)
            {
                lastRecheck = Stopwatch.GetTimestamp();
                foreach (var (path, expectation) in waiting)
                {
                    Check(path, expectation, lastRecheck);
                }
            }
        }
    }

    private sealed class Expectation(byte[] content)
    {
        public byte[] Content { get; } = content;

        public TaskCompletionSource<long> Landed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
