using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Serilog.Core;
using Wsync.Monitor.Sync;
using Wsync.Monitor.Watching;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// A remote loop's policy (<see cref="RemotePolicy"/>) against a fake transport and a clock advanced by hand:
/// which state each outcome leads to, when the loop tries again, and who is told. No process runs here; the
/// mirror suites run the same loop over real rsync, sshd and daemons.
/// </summary>
public sealed class RemoteLoopTests : IAsyncDisposable
{
    /// <summary>Only a bound on a failure: a loaded test host (blocking tests starving the thread pool) can delay a continuation by seconds.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly TempDirectory temp = new("rl");
    private readonly FakeTransport transport = new();
    private readonly DelayClock clock = new();
    private readonly ConcurrentQueue<SyncEvent> events = new();
    private readonly RemoteLoop loop;

    public RemoteLoopTests()
    {
        var root = temp.CreateDirectory("web");
        File.WriteAllText(Path.Combine(root, "kept"), "a root with an entry passes the safety stop");
        var definition = new RemoteDefinition { Id = Guid.NewGuid(), Name = "far", Destination = "/far" };
        loop = new RemoteLoop(definition, root, transport, () => { }, events.Enqueue, new SendActivity(), Logger.None, clock);
    }

    [Fact]
    public async Task A_batch_that_failed_waits_again_and_its_waiters_hear_only_once_it_is_on_the_remote()
    {
        await StartedAsync();
        transport.Next.Enqueue(SendOutcome.Transient);
        var generation = Change("a.c");
        Poll.Until(() => loop.Status.State == RemoteState.Retrying, Deadline, "the remote to be Retrying");
        var waiting = loop.WaitForAsync(generation, failFast: false, null, CancellationToken.None);
        Assert.Contains("invalidate", transport.Calls); // a transient failure drops the connection
        Assert.False(waiting.IsCompleted);

        await clock.AdvanceAsync(TimeSpan.FromMilliseconds(250));

        Assert.True(await waiting.WaitAsync(Deadline));
        Assert.Equal(["a.c"], transport.Batches.Last().Entries.Select(e => e.Path));
        Assert.Equal(RemoteState.InSync, loop.Status.State);
    }

    [Fact]
    public async Task Failures_that_may_pass_are_retried_after_a_backoff_that_doubles_to_30_s_and_starts_over_after_a_success()
    {
        await StartedAsync();
        for (var i = 0; i < 10; i++)
        {
            transport.Next.Enqueue(SendOutcome.Partial);
        }

        Change("a.c");
        double[] expected = [0.25, 0.5, 1, 2, 4, 8, 16, 30, 30, 30];
        foreach (var seconds in expected)
        {
            Assert.Equal(TimeSpan.FromSeconds(seconds), await clock.NextDelayAsync());
            await clock.AdvanceAsync(TimeSpan.FromSeconds(seconds));
        }

        Poll.Until(() => loop.Status.State == RemoteState.InSync, Deadline, "the success after ten failures");
        Assert.DoesNotContain("invalidate", transport.Calls); // a partial transfer keeps the connection

        transport.Next.Enqueue(SendOutcome.Partial);
        Change("b.c");
        Assert.Equal(TimeSpan.FromMilliseconds(250), await clock.NextDelayAsync());
    }

    [Fact]
    public async Task An_incremental_batch_the_remote_refuses_is_sent_again_at_once_as_a_full_reconcile()
    {
        await StartedAsync();
        transport.Next.Enqueue(SendOutcome.Refused);
        var generation = Change("a.c");

        Assert.True(await loop.WaitForAsync(generation, failFast: false, null, CancellationToken.None).WaitAsync(Deadline));
        Assert.Equal(["reconcile", "send", "reconcile"], transport.Calls.Where(c => c is "send" or "reconcile"));
        Assert.Equal(0, clock.DelaysRequested);
        Assert.DoesNotContain(events, e => e.NewState == SyncState.Failed);
    }

    [Fact]
    public async Task A_full_reconcile_the_remote_refuses_is_Failed_and_retried_every_minute()
    {
        transport.Next.Enqueue(SendOutcome.Refused);
        var initial = loop.Start();
        var waiting = loop.WaitForAsync(initial, failFast: true, null, CancellationToken.None);

        Assert.False(await waiting.WaitAsync(Deadline)); // Connect-WsyncRemote's initial sync hears it at once
        Assert.Equal(RemoteState.Failed, loop.Status.State);
        Assert.Equal(TimeSpan.FromSeconds(60), await clock.NextDelayAsync());
        await clock.AdvanceAsync(TimeSpan.FromSeconds(60));
        Poll.Until(() => loop.Status.State == RemoteState.InSync, Deadline, "the retry a minute later");
    }

    [Fact]
    public async Task A_connection_that_needs_a_person_is_Failed_one_that_may_pass_is_Retrying()
    {
        transport.IsConnected = false;
        transport.ConnectFailures.Enqueue(new EndpointException(ErrorIds.SshAuthenticationFailed, WsyncErrorCategory.PermissionDenied, permanent: true, "refused key"));
        transport.ConnectFailures.Enqueue(new EndpointException(ErrorIds.DestinationUnreachable, WsyncErrorCategory.ConnectionError, permanent: false, "no route"));
        loop.Start();

        Assert.Equal(TimeSpan.FromSeconds(60), await clock.NextDelayAsync());
        Assert.Equal(RemoteState.Failed, loop.Status.State);
        Assert.Equal("refused key", loop.Status.LastError);
        await clock.AdvanceAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(TimeSpan.FromMilliseconds(500), await clock.NextDelayAsync()); // the second failure in a row
        Assert.Equal(RemoteState.Retrying, loop.Status.State);
        await clock.AdvanceAsync(TimeSpan.FromMilliseconds(500));
        Poll.Until(() => loop.Status.State == RemoteState.InSync, Deadline, "the third attempt to connect");
    }

    [Fact]
    public async Task Routine_changes_are_told_by_BatchSent_and_each_new_error_once()
    {
        await StartedAsync();
        for (var i = 0; i < 3; i++)
        {
            transport.Next.Enqueue(SendOutcome.Partial); // the same error three times
        }

        Change("a.c");
        for (var i = 0; i < 3; i++)
        {
            await clock.AdvanceAsync(await clock.NextDelayAsync());
        }

        Poll.Until(() => loop.Status.State == RemoteState.InSync, Deadline, "the batch to go through");
        var told = events.ToList();
        Assert.Single(told, e => e.Kind == SyncEventKind.Error);
        Assert.Equal(2, told.Count(e => e.Kind == SyncEventKind.BatchSent)); // the initial reconcile and the batch
        Assert.DoesNotContain(told, e => e.Kind == SyncEventKind.RemoteStateChanged &&
            (e.OldState, e.NewState) is (SyncState.InSync, SyncState.Syncing) or (SyncState.Syncing, SyncState.InSync));
        Assert.Contains(told, e => e.Kind == SyncEventKind.RemoteStateChanged && e.NewState == SyncState.Retrying);
    }

    public async ValueTask DisposeAsync()
    {
        await loop.DisposeAsync();
        temp.Dispose();
    }

    /// <summary>Starts the loop and waits for its initial full reconcile.</summary>
    private async Task StartedAsync()
    {
        var initial = loop.Start();
        Assert.True(await loop.WaitForAsync(initial, failFast: true, null, CancellationToken.None).WaitAsync(Deadline));
        Poll.Until(() => loop.Status.State == RemoteState.InSync, Deadline, "the remote to be InSync");
    }

    private long Change(string path)
    {
        var generation = loop.Pending.Add([Wsync.Monitor.Watching.Change.OfPath(path)]);
        loop.Signal();
        return generation;
    }

    /// <summary>A transport that sends nothing: each call answers with the next scripted outcome (Success when none is left).</summary>
    private sealed class FakeTransport : ITransport
    {
        public ConcurrentQueue<SendOutcome> Next { get; } = new();

        public ConcurrentQueue<EndpointException> ConnectFailures { get; } = new();

        public ConcurrentQueue<string> Calls { get; } = new();

        public ConcurrentQueue<Batch> Batches { get; } = new();

        public bool IsConnected { get; set; } = true;

        public TransportStatus Current { get; } = new(RemoteTransport.Rsync, "fake");

        public bool WantsPreparation => false;

        public Task ConnectAsync(CancellationToken cancellationToken)
        {
            Calls.Enqueue("connect");
            if (ConnectFailures.TryDequeue(out var failure))
            {
                throw failure;
            }

            IsConnected = true;
            return Task.CompletedTask;
        }

        public Task InvalidateAsync()
        {
            Calls.Enqueue("invalidate");
            IsConnected = false;
            return Task.CompletedTask;
        }

        public Task<SendResult> SendAsync(Batch batch, CancellationToken cancellationToken)
        {
            Calls.Enqueue("send");
            Batches.Enqueue(batch);
            return Task.FromResult(Result());
        }

        public Task<SendResult> ReconcileAsync(Action<SyncProgress> progress, CancellationToken cancellationToken)
        {
            Calls.Enqueue("reconcile");
            return Task.FromResult(Result());
        }

        public Task<bool> HasEntriesAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task HoldDriftAsync(bool held, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private SendResult Result() => Next.TryDequeue(out var outcome)
            ? new SendResult(outcome, 0, 0, $"the fake said {outcome}")
            : new SendResult(SendOutcome.Success, 10, 1, "sent");
    }

    /// <summary>A clock that moves only when told, and tells which delays the loop asked for, in order.</summary>
    private sealed class DelayClock : FakeTimeProvider
    {
        private readonly ConcurrentQueue<TimeSpan> requested = new();
        private int count;

        public int DelaysRequested => count;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            // Told only once the timer exists: a test that advanced the clock before it was made would skip it,
            // and the loop would wait for good (seen once under load).
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan && dueTime > TimeSpan.Zero)
            {
                requested.Enqueue(dueTime);
                Interlocked.Increment(ref count);
            }

            return timer;
        }

        /// <summary>The next delay the loop waits in, once it does.</summary>
        public async Task<TimeSpan> NextDelayAsync()
        {
            TimeSpan delay = default;
            await Poll.UntilAsync(() => Task.FromResult(requested.TryDequeue(out delay)), Deadline, "the loop to wait");
            return delay;
        }

        public Task AdvanceAsync(TimeSpan by)
        {
            Advance(by);
            return Task.CompletedTask;
        }
    }
}
