using System.Text.Json;
using Serilog.Core;
using Wsync.Monitor.Sync;

namespace Wsync.Monitor;

/// <summary>
/// wsync-monitor --probe: reads a remote definition (JSON) on stdin and checks that its ssh destination
/// works — connection, host key, authentication, a writable directory, rsync installed — before the
/// daemon stores it. Exit 0 when it does, printing a <see cref="ProbeResult"/> (the directory's top-level names); otherwise prints a <see cref="ProbeFailure"/> and exits 1.
/// </summary>
internal static class Probe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(25);

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

        var runtime = WsyncConfig.RuntimeDirectory();
        WsyncConfig.EnsurePrivateDirectory(runtime);
        var endpoint = new SshEndpoint(destination, remote, Path.Combine(runtime, "probe-" + Guid.NewGuid().ToString("n")[..8]), Logger.None);
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            await endpoint.ConnectAsync(deadline.Token).ConfigureAwait(false);
            var (code, _, _) = await endpoint.RunAsync("command -v rsync >/dev/null", deadline.Token).ConfigureAwait(false);
            if (code != 0)
            {
                return await FailAsync(output, ErrorIds.DestinationInvalid, WsyncErrorCategory.NotInstalled,
                    $"rsync is not installed on {destination.SshTarget}; install it there (e.g. apt-get install rsync).").ConfigureAwait(false);
            }

            (code, _, var error) = await endpoint.RunAsync($"test -d {RemoteShell.Quote(destination.Path)} && test -w {RemoteShell.Quote(destination.Path)}", deadline.Token).ConfigureAwait(false);
            if (code != 0)
            {
                return await FailAsync(output, ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied,
                    $"{destination.Path} on {destination.SshTarget} is not a directory you can write to. {error.Trim()}").ConfigureAwait(false);
            }

            // The top-level names, NUL-separated (any byte but NUL and '/' may be in a name): the daemon refuses
            // to mirror over entries the workspace lacks. The three globs cover every name but . and ..;
            // one that matches nothing stays literal and fails the existence test.
            (code, var listing, error) = await endpoint.RunAsync(
                $"cd -- {RemoteShell.Quote(destination.Path)} && for f in * .[!.]* ..?*; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then printf '%s\\0' \"$f\"; fi; done",
                deadline.Token).ConfigureAwait(false);
            if (code != 0)
            {
                return await FailAsync(output, ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied,
                    $"Could not list {destination.Path} on {destination.SshTarget}. {error.Trim()}").ConfigureAwait(false);
            }

            var entries = listing.Split('\0', StringSplitOptions.RemoveEmptyEntries);
            await output.WriteLineAsync(JsonSerializer.Serialize(new ProbeResult { Entries = entries }, ProbeJsonContext.Default.ProbeResult)).ConfigureAwait(false);
            return 0;
        }
        catch (EndpointException exception)
        {
            return await FailAsync(output, exception.ErrorId, exception.Category, exception.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return await FailAsync(output, ErrorIds.DestinationUnreachable, WsyncErrorCategory.OperationTimeout,
                $"{destination.SshTarget} did not answer within {Timeout.TotalSeconds:0} s.").ConfigureAwait(false);
        }
        finally
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> FailAsync(TextWriter output, string errorId, WsyncErrorCategory category, string message)
    {
        await output.WriteLineAsync(JsonSerializer.Serialize(new ProbeFailure { ErrorId = errorId, Category = category, Message = message }, ProbeJsonContext.Default.ProbeFailure)).ConfigureAwait(false);
        return 1;
    }
}
