using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>Why an endpoint could not be reached, and whether waiting can help.</summary>
internal sealed class EndpointException(string errorId, WsyncErrorCategory category, bool permanent, string message)
    : Exception(message)
{
    public string ErrorId { get; } = errorId;

    public WsyncErrorCategory Category { get; } = category;

    /// <summary>Waiting will not help (authentication, host key): reported as Failed, retried slowly.</summary>
    public bool Permanent { get; } = permanent;
}

/// <summary>
/// A scratch directory for the flag self-test, on the destination's machine: its rsync operand, whether
/// its subdirectory "gone" is gone, and its removal, which the caller runs however the test ends.
/// </summary>
internal sealed record Scratch(string Operand, Func<Task<bool>> IsGoneAsync, Func<Task> RemoveAsync);

/// <summary>How a remote loop reaches its destination: where rsync sends to, with what transport, and how renames are replayed.</summary>
internal abstract class Endpoint : IAsyncDisposable
{
    /// <summary>The rsync operand of the mirror's root, ending in '/'.</summary>
    public abstract string RsyncRoot { get; }

    /// <summary>rsync options that choose the transport (-e for ssh).</summary>
    public abstract IReadOnlyList<string> RsyncTransport { get; }

    public abstract bool IsConnected { get; }

    /// <summary>Makes the destination usable (ssh master up, root directory present).</summary>
    /// <exception cref="EndpointException">It cannot be reached.</exception>
    public abstract Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Forgets the connection after a transport failure; the next use reconnects.</summary>
    public abstract Task InvalidateAsync();

    /// <summary>Replays renames, in order; a rename that cannot be replayed is left to rsync.</summary>
    public abstract Task MoveAsync(IReadOnlyList<PendingMove> moves, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the modification time of the mirror's root (rsync leaves it when it names paths as operands, though
    /// creating or removing a name in the root changed it). A failure is left to the next reconcile.
    /// </summary>
    public abstract Task SetRootTimeAsync(long seconds, uint nanoseconds, CancellationToken cancellationToken);

    /// <summary>
    /// Creates a scratch directory <c>wsync-selftest-OWNER-*</c> in the destination machine's temporary
    /// directory, with one subdirectory "gone", for the flag self-test; null if it cannot. First removes
    /// any left by an earlier loop of <paramref name="owner"/> (a remote has one loop at a time, so those
    /// were killed before they could).
    /// </summary>
    public abstract Task<Scratch?> CreateScratchAsync(Guid owner, CancellationToken cancellationToken);

    /// <summary>The name prefix of <paramref name="owner"/>'s scratch directories; a GUID's hex digits, so safe in a shell glob.</summary>
    protected static string ScratchPrefix(Guid owner) => $"wsync-selftest-{owner:n}-";

    /// <summary>Whether the mirror's root holds any entry (the safety stop asks before mirroring an empty workspace).</summary>
    /// <exception cref="EndpointException">The destination could not be listed.</exception>
    public abstract Task<bool> HasEntriesAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>Directories in this machine's temporary directory ($TMPDIR) that a killed process may have left.</summary>
internal static class TemporaryDirectory
{
    /// <summary>Creates <c>$TMPDIR/PREFIXxxxxxx</c>, first removing every <c>PREFIX*</c> there: the caller is their only user.</summary>
    public static DirectoryInfo CreateFresh(string prefix)
    {
        foreach (var stale in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            try
            {
                Directory.Delete(stale, recursive: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // best effort: it is in the way of nothing, since the new one gets a name of its own
            }
        }

        return Directory.CreateTempSubdirectory(prefix);
    }
}

/// <summary>A directory on this machine: a disk, a mounted share.</summary>
internal sealed class LocalEndpoint(string path) : Endpoint
{
    private bool connected;

    public override string RsyncRoot => path.TrimEnd('/') + "/";

    public override IReadOnlyList<string> RsyncTransport => [];

    public override bool IsConnected => connected && Directory.Exists(path);

    public override Task ConnectAsync(CancellationToken cancellationToken)
    {
        // Never created here: a missing mirror directory usually means an unmounted share.
        if (!Directory.Exists(path))
        {
            throw new EndpointException(ErrorIds.DestinationNotFound, WsyncErrorCategory.ObjectNotFound, permanent: false,
                $"The destination directory {path} is missing (not mounted?); waiting for it to come back.");
        }

        connected = true;
        return Task.CompletedTask;
    }

    public override Task InvalidateAsync()
    {
        connected = false;
        return Task.CompletedTask;
    }

    public override Task MoveAsync(IReadOnlyList<PendingMove> moves, CancellationToken cancellationToken)
    {
        // By bytes (a name need not be UTF-8). A rename that cannot be replayed here (its source is not there,
        // its target is a directory, a parent is a file) is left to the batch's rsync, which lists both names:
        // the old one is deleted and the new one sent. A failed rename never fails the batch.
        foreach (var move in moves)
        {
            var from = Path.Combine(path, move.From);
            var to = Path.Combine(path, move.To);
            if (!Posix.Status(from).Exists || Posix.Status(to).Kind == FileKind.Directory || !MakeParents(move.To))
            {
                continue;
            }

            _ = Posix.Rename(from, to);
        }

        return Task.CompletedTask;
    }

    /// <summary>Creates the missing directories above <paramref name="relative"/>; false when one is in the way.</summary>
    private bool MakeParents(string relative)
    {
        var parent = path;
        var names = relative.Split('/');
        foreach (var name in names[..^1])
        {
            parent = Path.Combine(parent, name);
            var status = Posix.Status(parent);
            if (status.Kind == FileKind.Directory)
            {
                continue;
            }

            if (status.Exists || Posix.MakeDirectory(parent) != 0)
            {
                return false;
            }
        }

        return true;
    }

    public override Task SetRootTimeAsync(long seconds, uint nanoseconds, CancellationToken cancellationToken)
    {
        try
        {
            using var mirror = ConfinedRoot.Open(path);
            mirror.SetAttributes("", mode: null, seconds, nanoseconds);
        }
        catch (IOException)
        {
            // Gone or unreachable: the next reconcile sets it.
        }

        return Task.CompletedTask;
    }

    public override Task<Scratch?> CreateScratchAsync(Guid owner, CancellationToken cancellationToken)
    {
        string scratch;
        try
        {
            scratch = TemporaryDirectory.CreateFresh(ScratchPrefix(owner)).FullName;
            Directory.CreateDirectory(Path.Combine(scratch, "gone"));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult<Scratch?>(null);
        }

        return Task.FromResult<Scratch?>(new Scratch(
            scratch + "/",
            () => Task.FromResult(!Directory.Exists(Path.Combine(scratch, "gone"))),
            () =>
            {
                try
                {
                    Directory.Delete(scratch, recursive: true);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // best effort: an unremovable directory in the temporary directory harms nothing
                }

                return Task.CompletedTask;
            }));
    }

    public override Task<bool> HasEntriesAsync(CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult(Directory.EnumerateFileSystemEntries(path).Any());
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new EndpointException(ErrorIds.DestinationNotFound, WsyncErrorCategory.ReadError, permanent: false,
                $"Could not list the destination directory {path}: {exception.Message}");
        }
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
