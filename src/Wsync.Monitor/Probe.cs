using System.Text.Json;
using Serilog.Core;
using Wsync.Monitor.Sync;

namespace Wsync.Monitor;

/// <summary>
/// wsync-monitor --probe: reads a remote definition (JSON) on stdin and checks that its ssh destination
/// works — connection, host key, authentication, a writable directory, rsync installed — before the
/// daemon stores it. Exit 0 when it does; otherwise prints a <see cref="ProbeFailure"/> and exits 1.
/// </summary>
internal static class Probe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(25);

    /// <summary>Exit codes of the probe's remote script, one per failed check (clear of sh's own 1, 2, 126, 127 and ssh's 255).</summary>
    private const int NoRsync = 90;

    private const int NotWritable = 91;

    private const int NotListable = 92;

    public static async Task<int> RunAsync(TextReader input, TextWriter output)
    {
        var remote = JsonSerializer.Deserialize(await input.ReadToEndAsync().ConfigureAwait(false), ProbeJsonContext.Default.RemoteDefinition);
        if (remote is null)
        {
            return await FailAsync(output, ErrorIds.DestinationInvalid, WsyncErrorCategory.InvalidArgument, "No remote definition was given to the probe.").ConfigureAwait(false);
        }

        // Omitted ssh options are none. (The generated deserializer sets an omitted init-only property
        // to null rather than leave its initializer.)
        remote = remote with { SshOptions = remote.SshOptions ?? [] };

        Destination destination;
        try
        {
            destination = Destination.Parse(remote.Destination, remote.Port);
        }
        catch (WsyncException exception)
        {
            return await FailAsync(output, exception.ErrorId, exception.Category, exception.Message).ConfigureAwait(false);
        }

        if (destination.Kind == RemoteKind.Local)
        {
            return 0;
        }

        await using var endpoint = new SshEndpoint(destination, remote, Path.Combine(WsyncConfig.PrivateRuntimeDirectory(), "probe-" + Guid.NewGuid().ToString("n")[..8]), Logger.None);
        var result = await CheckAsync(endpoint, destination, CancellationToken.None).ConfigureAwait(false);
        if (result.Failure is { } failure)
        {
            return await FailAsync(output, failure.ErrorId, failure.Category, failure.Message).ConfigureAwait(false);
        }

        await output.WriteLineAsync(JsonSerializer.Serialize(result, ProbeJsonContext.Default.ProbeResult)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Connects <paramref name="endpoint"/> and checks the destination through it: a failure, or the names at
    /// its top level. The connection stays open either way: the caller keeps it for the remote's loop or
    /// disposes of it.
    /// </summary>
    public static async Task<ProbeResult> CheckAsync(SshEndpoint endpoint, Destination destination, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            await endpoint.ConnectAsync(deadline.Token).ConfigureAwait(false);

            // One session for the three checks (each session over the master costs a shell start on the
            // remote): rsync present, the path a writable directory, then its top-level names, NUL-separated
            // (any byte but NUL and '/' may be in a name), so the daemon can refuse to mirror over entries
            // the workspace lacks. The three globs cover every name but . and ..; one that matches nothing
            // stays literal and fails the existence test.
            var path = RemoteShell.Quote(destination.Path);
            var (code, listing, error) = await endpoint.RunAsync(
                $"command -v rsync >/dev/null || exit {NoRsync}; " +
                $"test -d {path} && test -w {path} || exit {NotWritable}; " +
                $"cd -- {path} || exit {NotListable}; " +
                "for f in * .[!.]* ..?*; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then printf '%s\\0' \"$f\"; fi; done",
                deadline.Token).ConfigureAwait(false);
            return code switch
            {
                0 => new ProbeResult { Entries = listing.Split('\0', StringSplitOptions.RemoveEmptyEntries) },
                NoRsync => Failure(ErrorIds.DestinationInvalid, WsyncErrorCategory.NotInstalled,
                    $"rsync is not installed on {destination.SshTarget}; install it there (e.g. apt-get install rsync)."),
                NotWritable => Failure(ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied,
                    $"{destination.Path} on {destination.SshTarget} is not a directory you can write to. {error.Trim()}"),
                _ => Failure(ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied,
                    $"Could not list {destination.Path} on {destination.SshTarget}. {error.Trim()}"),
            };
        }
        catch (EndpointException exception)
        {
            return Failure(exception.ErrorId, exception.Category, exception.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failure(ErrorIds.DestinationUnreachable, WsyncErrorCategory.OperationTimeout,
                $"{destination.SshTarget} did not answer within {Timeout.TotalSeconds:0} s.");
        }
    }

    private static ProbeResult Failure(string errorId, WsyncErrorCategory category, string message) =>
        new() { Failure = new ProbeFailure { ErrorId = errorId, Category = category, Message = message } };

    private static async Task<int> FailAsync(TextWriter output, string errorId, WsyncErrorCategory category, string message)
    {
        await output.WriteLineAsync(JsonSerializer.Serialize(new ProbeFailure { ErrorId = errorId, Category = category, Message = message }, ProbeJsonContext.Default.ProbeFailure)).ConfigureAwait(false);
        return 1;
    }
}
