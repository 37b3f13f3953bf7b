using Wsync.Transfer;

namespace Wsync.Agent;

/// <summary>
/// wsync-agent: serve one monitor on stdin/stdout (see <see cref="AgentSession"/>). The root and every path
/// come inside the protocol, never on the command line, so the remote shell that starts it reads no path.
/// wsync-agent --version: print the version and protocol, exit 0.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var version = typeof(Program).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        if (args is ["--version"])
        {
            Console.WriteLine($"wsync-agent {version} (protocol {AgentProtocol.Version})");
            return 0;
        }

        if (args.Length > 0)
        {
            Console.Error.WriteLine("wsync-agent takes no arguments: it is started by wsync-monitor and spoken to on stdin.");
            return (int)AgentExit.Handshake;
        }

        using var input = Console.OpenStandardInput();
        using var output = Console.OpenStandardOutput();
        var session = new AgentSession(input, output, version, Console.Error);
        return (int)await session.RunAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
