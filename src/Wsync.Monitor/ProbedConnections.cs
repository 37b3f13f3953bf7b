using Wsync.Monitor.Sync;

namespace Wsync.Monitor;

/// <summary>
/// The ssh connections a successful probe (attaching a remote) opened, kept for that remote's loop to adopt,
/// so that attaching logs in once. One no loop claims within <see cref="Lifetime"/> is closed. Thread-safe.
/// </summary>
internal sealed class ProbedConnections
{
    /// <summary>
    /// How long a probed connection waits for its remote to be configured: the daemon stores the remote and
    /// configures the monitor right after a successful probe.
    /// </summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    private readonly Lock gate = new();

    /// <summary>By remote id. Guarded by <see cref="gate"/>.</summary>
    private readonly Dictionary<Guid, SshEndpoint> waiting = [];

    /// <summary>Keeps <paramref name="endpoint"/> for <paramref name="remoteId"/>'s loop, replacing (and closing) an older one.</summary>
    public async Task KeepAsync(Guid remoteId, SshEndpoint endpoint)
    {
        SshEndpoint? replaced;
        lock (gate)
        {
            waiting.Remove(remoteId, out replaced);
            waiting[remoteId] = endpoint;
        }

        if (replaced is not null)
        {
            await replaced.DisposeAsync().ConfigureAwait(false);
        }

        _ = CloseUnclaimedAsync(remoteId, endpoint);
    }

    /// <summary>The connection kept for <paramref name="remoteId"/>, now the caller's; null when there is none.</summary>
    public SshEndpoint? Claim(Guid remoteId)
    {
        lock (gate)
        {
            return waiting.Remove(remoteId, out var endpoint) ? endpoint : null;
        }
    }

    /// <summary>Every connection still kept, now the caller's (the monitor is stopping).</summary>
    public List<SshEndpoint> ClaimAll()
    {
        lock (gate)
        {
            var all = waiting.Values.ToList();
            waiting.Clear();
            return all;
        }
    }

    /// <summary>Closes a probed connection no loop claimed (the daemon failed to store the remote, or went away).</summary>
    private async Task CloseUnclaimedAsync(Guid remoteId, SshEndpoint endpoint)
    {
        await Task.Delay(Lifetime).ConfigureAwait(false);
        bool unclaimed;
        lock (gate)
        {
            unclaimed = waiting.TryGetValue(remoteId, out var kept) && kept == endpoint && waiting.Remove(remoteId);
        }

        if (unclaimed)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }
    }
}
