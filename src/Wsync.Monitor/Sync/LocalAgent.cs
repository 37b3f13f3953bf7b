using Nerdbank.Streams;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>
/// The agent of a local-directory remote: the same <see cref="AgentSession"/> wsync-agent runs on a host,
/// run inside the monitor over an in-process pipe, with the same confinement and the same lock on the root.
/// Closing the channel ends the session and releases the lock.
/// </summary>
internal static class LocalAgent
{
    public static async Task<AgentChannel> StartAsync(string root, Action<DriftEntry> drifted, CancellationToken cancellationToken)
    {
        var (monitorSide, agentSide) = FullDuplexStream.CreatePair();
        var session = Task.Run(async () =>
        {
            await using (agentSide.ConfigureAwait(false))
            {
                await new AgentSession(agentSide, agentSide, ProtocolInfo.ProductVersion, TextWriter.Null).RunAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);

        return await AgentChannel.OpenAsync(monitorSide, monitorSide, root, async () =>
        {
            await monitorSide.DisposeAsync().ConfigureAwait(false);
            await session.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }, drifted, cancellationToken).ConfigureAwait(false);
    }
}
