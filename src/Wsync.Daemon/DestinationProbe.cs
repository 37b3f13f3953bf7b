using System.Diagnostics;
using System.Text.Json;

namespace Wsync.Daemon;

/// <summary>
/// Checks that a destination can work before it is stored: a local directory must exist and be
/// writable; an ssh destination must accept a connection with the remote's options and have a
/// usable rsync. ssh is the monitor's business: the workspace's running monitor probes, and keeps the
/// connection for the remote's loop (attaching then connects once, not twice); without one, the probe
/// runs <c>wsync-monitor --probe</c>.
/// </summary>
internal sealed class DestinationProbe(string monitorExecutable, TimeSpan timeout)
{
    public async Task CheckAsync(Destination destination, RemoteDefinition remote, IMonitor? monitor, CancellationToken cancellationToken)
    {
        if (destination.Kind == RemoteKind.Local)
        {
            CheckLocal(destination, remote);
            return;
        }

        if (monitor is not null && await ProbeThroughAsync(monitor, remote, cancellationToken).ConfigureAwait(false))
        {
            return;
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
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw Unreachable(remote);
        }

        var result = (await output.ConfigureAwait(false)).Trim();
        if (process.ExitCode == 0)
        {
            return;
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

    /// <summary>The running monitor probes (and keeps the connection); false when it went away before answering.</summary>
    private async Task<bool> ProbeThroughAsync(IMonitor monitor, RemoteDefinition remote, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        ProbeFailure? failure;
        try
        {
            failure = await monitor.ProbeAsync(remote, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(remote);
        }
        catch (Exception exception) when (exception is StreamJsonRpc.ConnectionLostException or ObjectDisposedException)
        {
            return false;
        }

        return failure is null ? true : throw new WsyncException(failure.ErrorId, failure.Category, remote.Destination, failure.Message);
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
