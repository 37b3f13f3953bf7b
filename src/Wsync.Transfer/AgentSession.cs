using Wsync.Platform;

namespace Wsync.Transfer;

/// <summary>How an agent session ended: its process's exit code.</summary>
public enum AgentExit
{
    /// <summary>The monitor closed the input: the session is over.</summary>
    Closed = 0,

    /// <summary>The input did not open with a monitor's magic and Hello, or spoke another protocol version.</summary>
    Handshake = 2,

    /// <summary>The root could not be opened, or another agent holds it.</summary>
    Root = 3,

    /// <summary>A frame was malformed, oversized or cut short, or a path would have left the root.</summary>
    Refused = 4,
}

/// <summary>
/// The applier's side of the agent protocol (<see cref="AgentProtocol"/>): after the handshake, applies each
/// request under one <see cref="ConfinedRoot"/> in the order it came and replies to it. It runs no command and
/// writes nowhere but under the root; a request that breaks the protocol or the confinement gets Refused and
/// ends the session (the monitor falls back to rsync and reconnects). It is the whole of wsync-agent, and runs
/// inside the monitor for local-directory remotes.
/// </summary>
public sealed class AgentSession(Stream input, Stream output, string agentVersion, TextWriter log)
{
    private readonly FrameReader reader = new(input, AgentProtocol.MaxFrame);
    private readonly FrameWriter replies = new();

    /// <summary>One writer on the output at a time: replies from the session, drift from the watcher's thread.</summary>
    private readonly SemaphoreSlim writing = new(1, 1);

    public async Task<AgentExit> RunAsync(CancellationToken cancellationToken)
    {
        await output.WriteAsync(AgentProtocol.AgentMagic, cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        ConfinedRoot? root = null;
        try
        {
            var (exit, opened) = await HandshakeAsync(cancellationToken).ConfigureAwait(false);
            if (opened is null)
            {
                return exit;
            }

            root = opened;
            return await ServeAsync(root, cancellationToken).ConfigureAwait(false);
        }
        catch (FrameException exception)
        {
            return await RefuseAsync(exception.Message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            root?.Dispose();
        }
    }

    private async Task<(AgentExit Exit, ConfinedRoot? Root)> HandshakeAsync(CancellationToken cancellationToken)
    {
        var noise = new List<byte>();
        if (!await reader.SkipToMagicAsync(AgentProtocol.MonitorMagic, 0, noise, cancellationToken).ConfigureAwait(false) || noise.Count > 0)
        {
            log.WriteLine("wsync-agent: the input is not from a wsync monitor; wsync-agent is started by wsync-monitor, not by hand.");
            return (AgentExit.Handshake, null);
        }

        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is not { Kind: FrameKind.Hello } hello)
        {
            return (await RefuseAsync("The session did not open with Hello", cancellationToken).ConfigureAwait(false), null);
        }

        var fields = hello.Fields;
        var version = fields.U16();
        var path = fields.Path();
        fields.End();
        if (version != AgentProtocol.Version)
        {
            await RefuseAsync($"This agent speaks protocol {AgentProtocol.Version}, the monitor {version}", cancellationToken).ConfigureAwait(false);
            return (AgentExit.Handshake, null);
        }

        ConfinedRoot root;
        try
        {
            root = ConfinedRoot.Open(path);
        }
        catch (IOException exception)
        {
            await FailAsync(exception, cancellationToken).ConfigureAwait(false);
            return (AgentExit.Root, null);
        }

        if (!root.TryLock())
        {
            root.Dispose();
            await FailAsync(new FileSystemException(11, $"Another wsync agent is mirroring into '{LinuxPath.Display(path)}' (it holds the directory's lock): one workspace per mirror"), cancellationToken).ConfigureAwait(false);
            return (AgentExit.Root, null);
        }

        replies.Begin(FrameKind.Welcome).U16(AgentProtocol.Version).Text(agentVersion).End();
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return (AgentExit.Closed, root);
    }

    private async Task<AgentExit> ServeAsync(ConfinedRoot root, CancellationToken cancellationToken)
    {
        using var drift = WatchForDrift(root);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
        {
            try
            {
                Apply(root, frame, drift);
                replies.Begin(FrameKind.Done).End();
            }
            catch (ConfinementException exception)
            {
                return await RefuseAsync(exception.Message, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException exception) when (exception is not FrameException)
            {
                AddFailed(exception);
            }

            // Replies go out in one write when the monitor has sent no more: a batch costs one write each way.
            if (!reader.HasFrame)
            {
                drift?.Settle();
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return AgentExit.Closed;
    }

    /// <summary>Starts watching the root for changes made by others; null (and said on stderr) where inotify is not available.</summary>
    private DriftWatch? WatchForDrift(ConfinedRoot root)
    {
        var watch = new DriftWatch(root.Path, (paths, lost) => ReportDrift(root, paths, lost), log);
        try
        {
            watch.Start();
            return watch;
        }
        catch (IOException exception)
        {
            log.WriteLine($"wsync-agent: changes made under the root by others are not seen: {exception.Message}");
            watch.Dispose();
            return null;
        }
    }

    /// <summary>Tells the monitor what drifted and what is there now. Runs on the watcher's thread as well as the session's.</summary>
    private void ReportDrift(ConfinedRoot root, IReadOnlyList<string> paths, bool lost)
    {
        var frames = new FrameWriter();
        if (lost)
        {
            DriftEntry.Lost.WriteTo(frames);
        }

        foreach (var path in paths)
        {
            DriftEntry.Of(root, path).WriteTo(frames);
        }

        writing.Wait();
        try
        {
            output.Write(frames.Written.Span);
            output.Flush();
        }
        catch (IOException)
        {
            // The monitor is gone; the session ends when its input closes.
        }
        finally
        {
            writing.Release();
        }
    }

    /// <summary>Applies one request, first marking what it changes as the session's own (not drift).</summary>
    private static void Apply(ConfinedRoot root, Frame frame, DriftWatch? drift)
    {
        var fields = frame.Fields;
        switch (frame.Kind)
        {
            case FrameKind.WriteFile:
                {
                    var path = fields.Path();
                    var mode = fields.U32();
                    var (seconds, nanoseconds) = (fields.I64(), fields.U32());
                    var content = fields.Content();
                    fields.End();
                    drift?.Own(path);
                    root.WriteFile(path, content, mode, seconds, nanoseconds);
                    break;
                }

            case FrameKind.MakeDirectory:
                {
                    var path = fields.Path();
                    var mode = fields.U32();
                    var (seconds, nanoseconds) = (fields.I64(), fields.U32());
                    fields.End();
                    drift?.Own(path);
                    root.MakeDirectory(path, mode, seconds, nanoseconds);
                    break;
                }

            case FrameKind.Symlink:
                {
                    var path = fields.Path();
                    var target = fields.Path();
                    var (seconds, nanoseconds) = (fields.I64(), fields.U32());
                    fields.End();
                    drift?.Own(path);
                    root.Symlink(path, target, seconds, nanoseconds);
                    break;
                }

            case FrameKind.Remove:
                {
                    var path = fields.Path();
                    var recursive = fields.U8() != 0;
                    fields.End();
                    drift?.Own(path, tree: true);
                    root.Remove(path, recursive);
                    break;
                }

            case FrameKind.Rename:
                {
                    var (from, to) = (fields.Path(), fields.Path());
                    fields.End();
                    drift?.Own(from, tree: true);
                    drift?.Own(to, tree: true);
                    root.Rename(from, to);
                    break;
                }

            case FrameKind.SetAttributes:
                {
                    var path = fields.Path();
                    var hasMode = fields.U8() != 0;
                    var mode = fields.U32();
                    var (seconds, nanoseconds) = (fields.I64(), fields.U32());
                    fields.End();
                    drift?.Own(path);
                    root.SetAttributes(path, hasMode ? mode : null, seconds, nanoseconds);
                    break;
                }

            case FrameKind.Barrier:
                fields.End();
                break;

            case FrameKind.RsyncRunning:
                {
                    var running = fields.U8() != 0;
                    fields.End();
                    drift?.SetRsyncRunning(running);
                    break;
                }

            default:
                throw new FrameException($"A frame of kind {(byte)frame.Kind} is not a request");
        }
    }

    private async Task FailAsync(IOException exception, CancellationToken cancellationToken)
    {
        AddFailed(exception);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A Failed reply: the errno the file system gave, or EIO (5) for any other I/O failure.</summary>
    private void AddFailed(IOException exception) =>
        replies.Begin(FrameKind.Failed).I32(exception is FileSystemException { Errno: var errno } ? errno : 5).Text(exception.Message).End();

    /// <summary>Says why the session ends (to the monitor, and on stderr for the host's own logs), then ends it.</summary>
    private async Task<AgentExit> RefuseAsync(string reason, CancellationToken cancellationToken)
    {
        log.WriteLine($"wsync-agent: refused: {reason}");
        replies.Begin(FrameKind.Refused).Text(reason).End();
        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The monitor may be gone already; the session ends either way.
        }

        return AgentExit.Refused;
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (replies.Written.Length > 0)
            {
                await output.WriteAsync(replies.Written, cancellationToken).ConfigureAwait(false);
                replies.Clear();
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            writing.Release();
        }
    }
}
