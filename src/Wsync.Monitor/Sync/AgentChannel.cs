using System.Text;
using System.Threading.Channels;
using Wsync.Platform;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>The agent cannot serve this session any more (or never could): what is pending goes to rsync.</summary>
internal sealed class AgentException(string message) : IOException(message);

/// <summary>An agent's answer to one request: Done, or Failed with the errno and why.</summary>
internal readonly record struct AgentReply(bool Done, int Errno, string Message);

/// <summary>
/// The monitor's end of one agent session (<see cref="AgentProtocol"/>), over the agent's stdin and stdout
/// (a process on a host) or over an in-process pipe (a local-directory remote). After the handshake one task
/// reads everything the agent sends: replies, in order, for <see cref="ExchangeAsync"/>, and drift reports,
/// whenever they come, for the callback. What the agent sends is not trusted: a frame that is malformed,
/// oversized or neither ends the session. Exchanges are made by one transport's task at a time.
/// </summary>
internal sealed class AgentChannel : IAsyncDisposable
{
    private readonly Stream toAgent;
    private readonly Func<ValueTask> close;

    /// <summary>Replies as they come; completed with the reason when the session ends.</summary>
    private readonly Channel<AgentReply> replies = Channel.CreateUnbounded<AgentReply>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <summary>The task that reads everything the agent sends; ends with the session.</summary>
    private readonly Task readLoop;

    private AgentChannel(Stream toAgent, FrameReader fromAgent, Func<ValueTask> close, string agentVersion, Action<DriftEntry> drifted)
    {
        this.toAgent = toAgent;
        this.close = close;
        AgentVersion = agentVersion;
        readLoop = Task.Run(() => ReadAsync(fromAgent, drifted));
    }

    /// <summary>The version the agent gave in its Welcome.</summary>
    public string AgentVersion { get; }

    /// <summary>
    /// Opens a session for <paramref name="root"/>: the handshake in both directions. <paramref name="close"/>
    /// ends whatever carries it (closes the agent's input, waits for it) and runs when the handshake fails too.
    /// </summary>
    /// <param name="drifted">Hears each drift report, on the channel's reading task.</param>
    /// <exception cref="AgentException">The agent did not start, a shell printed before it, it speaks another
    /// version, or it cannot serve the root (missing, or held by another agent).</exception>
    public static async Task<AgentChannel> OpenAsync(Stream toAgent, Stream fromAgent, string root, Func<ValueTask> close, Action<DriftEntry> drifted, CancellationToken cancellationToken)
    {
        var reader = new FrameReader(fromAgent, AgentProtocol.MaxFrame);
        try
        {
            var hello = new FrameWriter().Raw(AgentProtocol.MonitorMagic.Span).Begin(FrameKind.Hello).U16(AgentProtocol.Version).Path(root).End();
            await toAgent.WriteAsync(hello.Written, cancellationToken).ConfigureAwait(false);
            await toAgent.FlushAsync(cancellationToken).ConfigureAwait(false);

            var noise = new List<byte>();
            if (!await reader.SkipToMagicAsync(AgentProtocol.AgentMagic, AgentProtocol.MaxNoise, noise, cancellationToken).ConfigureAwait(false))
            {
                throw new AgentException(noise.Count == 0
                    ? "The agent ended before it said hello (it could not start on this host)"
                    : $"The agent did not start; instead the host printed: {Quote(noise)}");
            }

            if (noise.Count > 0)
            {
                throw new AgentException($"The remote shell printed {Quote(noise)} before the agent started. A login script that prints for commands (not only for interactive shells) breaks wsync's protocol and rsync's alike: print only when the shell is interactive");
            }

            var frame = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ?? throw new AgentException("The agent ended during the handshake");
            return frame.Kind switch
            {
                FrameKind.Welcome => Welcomed(frame, toAgent, reader, close, drifted),
                FrameKind.Failed or FrameKind.Refused => throw new AgentException(ReplyOf(frame).Message),
                _ => throw new AgentException($"The agent answered hello with {frame.Kind}"),
            };
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or OperationCanceledException)
        {
            await close().ConfigureAwait(false);
            throw exception is FrameException ? new AgentException($"The agent broke the protocol: {exception.Message}") : exception;
        }
    }

    private static AgentChannel Welcomed(Frame welcome, Stream toAgent, FrameReader reader, Func<ValueTask> close, Action<DriftEntry> drifted)
    {
        var fields = welcome.Fields;
        var version = fields.U16();
        var agentVersion = fields.Text();
        fields.End();
        return version == AgentProtocol.Version
            ? new AgentChannel(toAgent, reader, close, agentVersion, drifted)
            : throw new AgentException($"The agent speaks protocol {version}, this monitor {AgentProtocol.Version}");
    }

    /// <summary>
    /// Sends the requests <paramref name="requests"/> holds in one write and returns one reply per request, in
    /// order. Replies are read while the requests are written: neither side's pipe can fill and stall the other.
    /// </summary>
    /// <exception cref="AgentException">The session ended (the agent refused a request, died, or broke the protocol).</exception>
    public async Task<IReadOnlyList<AgentReply>> ExchangeAsync(FrameWriter requests, CancellationToken cancellationToken)
    {
        var reading = ReadRepliesAsync(requests.Count, cancellationToken);
        try
        {
            await toAgent.WriteAsync(requests.Written, cancellationToken).ConfigureAwait(false);
            await toAgent.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            // The agent is gone; its last words (a Refused) may still be readable.
            await ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw reading.Exception?.InnerException as AgentException ?? new AgentException($"The agent's input closed: {exception.Message}");
        }

        return await reading.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await close().ConfigureAwait(false);
        await readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task<IReadOnlyList<AgentReply>> ReadRepliesAsync(int count, CancellationToken cancellationToken)
    {
        var received = new List<AgentReply>(count);
        try
        {
            while (received.Count < count)
            {
                received.Add(await replies.Reader.ReadAsync(cancellationToken).ConfigureAwait(false));
            }
        }
        catch (ChannelClosedException exception)
        {
            throw exception.InnerException as AgentException ?? new AgentException($"The agent ended after {received.Count} of {count} replies");
        }

        return received;
    }

    /// <summary>Reads until the session ends: replies to their channel, drift to its callback.</summary>
    private async Task ReadAsync(FrameReader fromAgent, Action<DriftEntry> drifted)
    {
        AgentException? ended = null;
        try
        {
            while (await fromAgent.ReadAsync(CancellationToken.None).ConfigureAwait(false) is { } frame)
            {
                switch (frame.Kind)
                {
                    case FrameKind.Done or FrameKind.Failed:
                        replies.Writer.TryWrite(ReplyOf(frame));
                        break;
                    case FrameKind.Drift:
                        drifted(DriftEntry.Read(frame));
                        break;
                    case FrameKind.Refused:
                        throw new AgentException($"The agent refused a request and ended the session: {ReplyOf(frame).Message}");
                    default:
                        throw new AgentException($"The agent sent {frame.Kind} where a reply was due");
                }
            }
        }
        catch (FrameException exception)
        {
            ended = new AgentException($"The agent broke the protocol: {exception.Message}");
        }
        catch (AgentException exception)
        {
            ended = exception;
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException)
        {
            ended = new AgentException($"The agent's output closed: {exception.Message}");
        }

        replies.Writer.TryComplete(ended);
    }

    private static AgentReply ReplyOf(Frame frame)
    {
        var fields = frame.Fields;
        switch (frame.Kind)
        {
            case FrameKind.Done:
                fields.End();
                return new AgentReply(true, 0, "");
            case FrameKind.Failed:
                var errno = fields.I32();
                var message = fields.Text();
                fields.End();
                return new AgentReply(false, errno, message);
            default:
                var reason = fields.Text();
                fields.End();
                return new AgentReply(false, 0, reason);
        }
    }

    /// <summary>What a shell printed, quoted for a message: its first 200 bytes as text, control characters escaped.</summary>
    private static string Quote(List<byte> noise)
    {
        var text = Encoding.UTF8.GetString(noise.Take(200).ToArray());
        var escaped = new StringBuilder("'");
        foreach (var c in text)
        {
            escaped.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        }

        return escaped.Append(noise.Count > 200 ? "…'" : "'").ToString();
    }
}
