using System.Text.Json;

namespace Wsync.Monitor;

/// <summary>Checks a destination before the daemon stores it (wsync-monitor --probe).</summary>
internal static class Probe
{
    public static async Task<int> RunAsync(TextReader input, TextWriter output)
    {
        var remote = JsonSerializer.Deserialize<RemoteDefinition>(await input.ReadToEndAsync().ConfigureAwait(false));
        if (remote is null)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new ProbeFailure
            {
                ErrorId = ErrorIds.DestinationInvalid,
                Category = WsyncErrorCategory.InvalidArgument,
                Message = "No remote definition was given to the probe.",
            })).ConfigureAwait(false);
            return 1;
        }

        return 0;
    }
}
