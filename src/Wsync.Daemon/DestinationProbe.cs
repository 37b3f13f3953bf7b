using System.Diagnostics;
using System.Text.Json;
using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// Checks that a destination can work before it is stored: a local directory must exist and be
/// writable; an ssh destination must accept a connection with the remote's options and have a
/// usable rsync. ssh is the monitor's business: the workspace's running monitor probes, and keeps the
/// connection for the remote's loop (attaching then logs in once, not twice); without one, the probe
/// runs <c>wsync-monitor --probe</c>.
/// </summary>
internal sealed class DestinationProbe(string monitorExecutable, TimeSpan timeout)
{
    /// <summary>Checks the destination; returns the names of the entries at its top level (none for a new directory).</summary>
    public async Task<IReadOnlyList<string>> CheckAsync(Destination destination, RemoteDefinition remote, IMonitor? monitor, CancellationToken cancellationToken)
    {
        if (destination.Kind == RemoteKind.Local)
        {
            CheckLocal(destination, remote);
            return [.. Directory.EnumerateFileSystemEntries(destination.Path).Select(Path.GetFileName).OfType<string>()];
        }

        if (monitor is not null && await ProbeThroughAsync(monitor, remote, cancellationToken).ConfigureAwait(false) is { } entries)
        {
            return entries;
        }

        var start = new ProcessStartInfo(monitorExecutable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--probe");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {monitorExecutable}");
        await process.StandardInput.WriteAsync(JsonSerializer.Serialize(remote, ProbeJsonContext.Default.RemoteDefinition)).ConfigureAwait(false);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ProcessTree.Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw Unreachable(remote);
        }

        var result = (await output.ConfigureAwait(false)).Trim();
        if (process.ExitCode == 0)
        {
            ProbeResult? listing = null;
            try
            {
                listing = result.Length > 0 ? JsonSerializer.Deserialize(result, ProbeJsonContext.Default.ProbeResult) : null;
            }
            catch (JsonException)
            {
            }

            return listing?.Entries ?? [];
        }

        ProbeFailure? failure = null;
        try
        {
            failure = result.Length > 0 ? JsonSerializer.Deserialize(result, ProbeJsonContext.Default.ProbeFailure) : null;
        }
        catch (JsonException)
        {
        }

        if (failure is not null)
        {
            throw new WsyncException(failure.ErrorId, failure.Category, remote.Destination, failure.Message);
        }

        throw new WsyncException(ErrorIds.DestinationUnreachable, WsyncErrorCategory.ConnectionError, remote.Destination,
            $"Could not check '{remote.Destination}': {(await errors.ConfigureAwait(false)).Trim()}");
    }

    /// <summary>The running monitor probes (and keeps the connection); null when it went away before answering.</summary>
    private async Task<IReadOnlyList<string>?> ProbeThroughAsync(IMonitor monitor, RemoteDefinition remote, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        ProbeResult result;
        try
        {
            result = await monitor.ProbeAsync(remote, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(remote);
        }
        catch (Exception exception) when (exception is StreamJsonRpc.ConnectionLostException or ObjectDisposedException)
        {
            return null;
        }

        return result.Failure is { } failure
            ? throw new WsyncException(failure.ErrorId, failure.Category, remote.Destination, failure.Message)
            : result.Entries;
    }

    private WsyncException Unreachable(RemoteDefinition remote) =>
        new(ErrorIds.DestinationUnreachable, WsyncErrorCategory.OperationTimeout, remote.Destination,
            $"Checking '{remote.Destination}' took longer than {timeout.TotalSeconds:0} s; is the host reachable?");

    private static void CheckLocal(Destination destination, RemoteDefinition remote)
    {
        if (File.Exists(destination.Path))
        {
            throw new WsyncException(ErrorIds.DestinationInvalid, WsyncErrorCategory.InvalidArgument, remote.Destination,
                $"'{destination.Path}' is a file; a destination is a directory.");
        }

        if (!Directory.Exists(destination.Path))
        {
            throw new WsyncException(ErrorIds.DestinationNotFound, WsyncErrorCategory.ObjectNotFound, remote.Destination,
                $"The directory '{destination.Path}' does not exist. Create it (or mount the share) first.");
        }

        if (!NativeAccess.CanWriteDirectory(destination.Path))
        {
            throw new WsyncException(ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied, remote.Destination,
                $"You cannot write to '{destination.Path}'.");
        }
    }
}
