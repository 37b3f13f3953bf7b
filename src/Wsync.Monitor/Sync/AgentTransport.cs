using System.Diagnostics;
using Serilog;
using Wsync.Platform;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>
/// The agent transport: a batch's small changes go as requests to a wsync agent that applies them under the
/// remote's root, over one session kept open (no process per change). What the agent is not for goes to rsync
/// in the same batch, after the agent's part: trees (a new or renamed directory), files over
/// <see cref="AgentProtocol.InlineLimit"/> (rsync sends their deltas), special files, and any request the
/// agent could not apply (a full disk, a missing parent). Full reconciles and the safety stop's listing stay
/// rsync's. When the agent cannot start, the whole batch goes to rsync; when its session ends during a batch,
/// a full reconcile follows (whatever it half did is undone); either way the agent is tried again after
/// <see cref="Backoff.AgentRestart"/>: no change is ever lost to the agent.
/// Workspace files are read through a <see cref="ConfinedRoot"/> too: a directory swapped for a symlink
/// between an event and its batch never makes the monitor read outside the workspace.
/// </summary>
internal sealed class AgentTransport : ITransport
{
    private readonly RemoteDefinition definition;
    private readonly string root;
    private readonly RsyncTransport rsync;
    private readonly Func<Action<DriftEntry>, CancellationToken, Task<AgentChannel>> startAgent;
    private readonly Func<bool> hasExcludes;
    private readonly ILogger log;

    private static readonly TransportStatus Running = new(RemoteTransport.Agent, null);

    private static readonly TransportStatus Reconnecting = new(RemoteTransport.Rsync, "The agent starts again once the destination is reachable");

    private static readonly TransportStatus NotStarted = new(RemoteTransport.Rsync, "The agent starts once the initial sync is done");

    /// <summary>The open session; null while none is (not started yet, or ended and waiting for <see cref="retryAt"/>).</summary>
    private AgentChannel? channel;

    /// <summary>Agent starts or sessions that failed in a row: the backoff's count.</summary>
    private int failures;

    /// <summary>When the agent may be started again (Stopwatch timestamp); 0 when it may now.</summary>
    private long retryAt;

    public AgentTransport(RemoteDefinition definition, string root, RsyncTransport rsync, Func<Action<DriftEntry>, CancellationToken, Task<AgentChannel>> startAgent, Func<bool> hasExcludes, ILogger log)
    {
        this.hasExcludes = hasExcludes;
        this.definition = definition;
        this.root = root;
        this.rsync = rsync;
        this.startAgent = startAgent;
        this.log = log;
    }

    /// <summary>Hears what the agent saw change on the remote that wsync did not write (on the channel's task); set before the loop starts.</summary>
    public Action<DriftEntry> Drifted { get; set; } = _ => { };

    /// <summary>The agent while its session is open; rsync, and why, otherwise.</summary>
    public TransportStatus Current { get; private set; } = NotStarted;

    public bool IsConnected => rsync.IsConnected;

    public bool WantsPreparation => (channel is null && retryAt <= Stopwatch.GetTimestamp()) || rsync.WantsPreparation;

    public Task ConnectAsync(CancellationToken cancellationToken) => rsync.ConnectAsync(cancellationToken);

    public async Task InvalidateAsync()
    {
        await CloseAgentAsync().ConfigureAwait(false);
        if (Current == Running)
        {
            Current = Reconnecting;
        }

        await rsync.InvalidateAsync().ConfigureAwait(false);
    }

    public Task<bool> HasEntriesAsync(CancellationToken cancellationToken) => rsync.HasEntriesAsync(cancellationToken);

    public Task<SendResult> ReconcileAsync(Action<SyncProgress> progress, CancellationToken cancellationToken) =>
        WhileRsyncRunsAsync(token => rsync.ReconcileAsync(progress, token), cancellationToken);

    /// <summary>Starts the agent ahead of the next change, and lets rsync prepare for what it still carries.</summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await EnsureAgentAsync(cancellationToken).ConfigureAwait(false);
        await rsync.PrepareAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<SendResult> SendAsync(Batch batch, CancellationToken cancellationToken)
    {
        if (!await EnsureAgentAsync(cancellationToken).ConfigureAwait(false) || OpenWorkspace() is not { } workspace)
        {
            return await rsync.SendAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        var started = Stopwatch.GetTimestamp();
        using var opened = workspace;
        var plan = new AgentPlan(recursiveRemove: hasExcludes() is false);
        plan.Add(workspace, batch.Moves, BatchPaths.Reachable(root, batch.Entries));

        IReadOnlyList<AgentReply> replies;
        try
        {
            replies = await channel!.ExchangeAsync(plan.Requests, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentException exception)
        {
            // What the agent did of this batch before it ended is unknown (a file half-written under its temporary
            // name, say, which no list of the batch's paths would remove): a full reconcile leaves the remote exact.
            await AgentFailedAsync($"The agent's session ended: {exception.Message}").ConfigureAwait(false);
            return await rsync.ReconcileAsync(_ => { }, cancellationToken).ConfigureAwait(false);
        }

        var left = plan.LeftFor(replies);
        log.Debug("Agent applied {Applied} of {Requests} requests in {Milliseconds:0.00} ms; {Left} paths left to rsync",
            plan.Requests.Count - left.Failures.Count, plan.Requests.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, left.Entries.Count);
        foreach (var failure in left.Failures)
        {
            log.Debug("The agent could not apply {Path}: {Reason}; rsync sends it", LinuxPath.Display(failure.Path), failure.Message);
        }

        var result = new SendResult(SendOutcome.Success, plan.BytesSent, plan.FilesSent, "applied by the agent");
        if (left.Entries.Count == 0)
        {
            return result;
        }

        // rsync leaves the times of the directories it creates names in as the workspace has them (those above
        // each path it sends, and the root: RsyncTransport), so nothing of the agent's is undone by it.
        var rest = await WhileRsyncRunsAsync(token => rsync.SendAsync(batch with { Entries = left.Entries, Moves = [] }, token), cancellationToken).ConfigureAwait(false);
        return rest with { BytesSent = rest.BytesSent + result.BytesSent, FilesTransferred = rest.FilesTransferred + result.FilesTransferred };
    }

    public async Task HoldDriftAsync(bool held, CancellationToken cancellationToken)
    {
        if (channel is not null)
        {
            await TellRsyncRunningAsync(held, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs rsync with the agent told that it does (when a session is open): what changes on the remote
    /// meanwhile is collected, not reported as drift, until rsync ends; then the agent reports it and the
    /// monitor compares it with the workspace, which rsync's writes match and no one else's do.
    /// </summary>
    private async Task<SendResult> WhileRsyncRunsAsync(Func<CancellationToken, Task<SendResult>> run, CancellationToken cancellationToken)
    {
        var told = channel is not null && await TellRsyncRunningAsync(true, cancellationToken).ConfigureAwait(false);
        try
        {
            return await run(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (told && channel is not null)
            {
                await TellRsyncRunningAsync(false, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> TellRsyncRunningAsync(bool running, CancellationToken cancellationToken)
    {
        var request = new FrameWriter().Begin(FrameKind.RsyncRunning).U8(running ? (byte)1 : (byte)0).End();
        try
        {
            await channel!.ExchangeAsync(request, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AgentException exception)
        {
            await AgentFailedAsync($"The agent's session ended: {exception.Message}").ConfigureAwait(false);
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAgentAsync().ConfigureAwait(false);
        await rsync.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>True when a session is open, starting one if none is and the backoff allows.</summary>
    private async Task<bool> EnsureAgentAsync(CancellationToken cancellationToken)
    {
        if (channel is not null)
        {
            return true;
        }

        if (Stopwatch.GetTimestamp() < retryAt || !rsync.IsConnected)
        {
            return false;
        }

        try
        {
            channel = await startAgent(entry => Drifted(entry), cancellationToken).ConfigureAwait(false);
            failures = 0;
            retryAt = 0;
            Current = Running;
            log.Information("The agent for {Destination} is running (version {Version})", definition.Destination, channel.AgentVersion);
            return true;
        }
        catch (Exception exception) when (exception is AgentException or IOException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            await AgentFailedAsync($"The agent could not start: {exception.Message}").ConfigureAwait(false);
            return false;
        }
    }

    private async Task AgentFailedAsync(string problem)
    {
        await CloseAgentAsync().ConfigureAwait(false);
        failures++;
        var delay = Backoff.AgentRestart.After(failures);
        retryAt = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        Current = new TransportStatus(RemoteTransport.Rsync, problem);
        log.Warning("{Problem}; changes to {Destination} go by rsync, and the agent is tried again in {Delay}", problem, definition.Destination, delay);
    }

    private async Task CloseAgentAsync()
    {
        if (channel is { } open)
        {
            channel = null;
            await open.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ConfinedRoot? OpenWorkspace()
    {
        try
        {
            // Opened per batch: a root that was replaced since is the new one.
            return ConfinedRoot.Open(root);
        }
        catch (IOException exception)
        {
            log.Debug("Could not open the workspace for the agent's reads: {Error}", exception.Message);
            return null;
        }
    }
}
