using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Serilog;
using Wsync.Platform;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>
/// wsync-agent on an ssh host, over the remote's ControlMaster. Installed into a per-user cache on the host,
/// <c>~/.wsync/agents/VERSION-RUNTIME-HASH/wsync-agent</c> (directories 0700; written under a temporary name,
/// then renamed; the same architecture's other folders removed), and checked before every start: every
/// component the user's own, none a symlink, none writable by group or others, the file's SHA-256 the one
/// shipped with this monitor. The remote command line is that fixed path alone (letters, digits, '.', '-', '/'); the root
/// travels in the handshake. Whether the agent runs on a host is learned by starting it, not guessed:
/// <c>uname -m</c> only picks which of the shipped binaries to upload (<c>WSYNC_AGENT_RUNTIME</c>, linux-x64 or
/// linux-arm64, overrides it: for a host whose kernel and user space differ, and for the tests of a host the
/// agent cannot run on).
/// </summary>
internal sealed class SshAgent(SshEndpoint endpoint, ILogger log)
{
    /// <summary>The cache on the host, relative to the login's home (where a command starts).</summary>
    private const string Cache = ".wsync/agents";

    /// <summary>Each shipped agent's SHA-256, read once per file.</summary>
    private static readonly Dictionary<string, string> Hashes = new(StringComparer.Ordinal);

    /// <summary>The runtime the host takes (linux-x64, linux-arm64); null until first asked.</summary>
    private string? runtime;

    /// <summary>Installs the agent if the host lacks it, checks it, starts it and opens its session.</summary>
    /// <exception cref="AgentException">No agent for the host's architecture, the cache cannot be trusted, or the agent did not start.</exception>
    public async Task<AgentChannel> StartAsync(Action<DriftEntry> drifted, CancellationToken cancellationToken)
    {
        var path = await InstallAsync(cancellationToken).ConfigureAwait(false);
        var process = endpoint.Start("exec " + path);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            return await AgentChannel.OpenAsync(process.StandardInput.BaseStream, process.StandardOutput.BaseStream, endpoint.RootFromHome,
                () => CloseAsync(process), drifted, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentException exception)
        {
            // The session's close ended ssh: what it or the host wrote to stderr says why (no such file, a C library missing).
            await ((Task)errors).WaitAsync(StopGraces.Agent, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw new AgentException(StandardError(errors) is { Length: > 0 } said ? $"{exception.Message}: {said}" : exception.Message);
        }
    }

    private static string StandardError(Task<string> errors) => errors.IsCompletedSuccessfully ? errors.Result.Trim() : "";

    /// <summary>The agent's path on the host, relative to its home, once it is there and checks out.</summary>
    private async Task<string> InstallAsync(CancellationToken cancellationToken)
    {
        runtime ??= await RuntimeAsync(cancellationToken).ConfigureAwait(false);
        var binary = Path.Combine(AppContext.BaseDirectory, "..", runtime, "wsync-agent");
        if (!File.Exists(binary))
        {
            throw new AgentException($"This wsync has no {runtime} agent to install ({binary} is missing)");
        }

        var hash = HashOf(binary);
        var folder = $"{Cache}/{Sanitized(ProtocolInfo.ProductVersion)}-{runtime}-{hash[..16]}";
        var agent = folder + "/wsync-agent";
        if (await CheckAsync(agent, hash, cancellationToken).ConfigureAwait(false) is null)
        {
            return agent;
        }

        log.Information("Installing the {Runtime} agent on the host into ~/{Folder}", runtime, folder);

        // The folder first, without the binary: a home the user cannot write (or a full disk) is told in one
        // round trip, not after uploading a megabyte that every retry would upload again.
        var (made, _, refused) = await endpoint.RunAsync($"umask 077 && mkdir -p {folder} && chmod 700 .wsync {Cache} {folder}", cancellationToken).ConfigureAwait(false);
        if (made != 0)
        {
            throw new AgentException($"Could not make ~/{folder} for the agent: {refused.Trim()}");
        }

        // Then the folders it replaces: this architecture's of other versions or builds, and those named before
        // the architecture was part of the name. Another architecture's stay: a home shared by hosts of both
        // (NFS) would otherwise have each host remove the other's agent on every start.
        var install = $"umask 077 && t={folder}/.wsync-agent.$$ && cat > \"$t\" && chmod 700 \"$t\" && mv -f \"$t\" {agent}"
            + $" && for old in {Cache}/*; do case \"$old\" in {folder}) ;; *-{runtime}-*) rm -rf -- \"$old\" ;; *-linux-*) ;; *) rm -rf -- \"$old\" ;; esac; done";
        var (installed, _, error) = await endpoint.RunAsync(install, await File.ReadAllBytesAsync(binary, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (installed != 0)
        {
            throw new AgentException($"Could not install the agent into ~/{folder}: {error.Trim()}");
        }

        return await CheckAsync(agent, hash, cancellationToken).ConfigureAwait(false) is { } problem
            ? throw new AgentException($"The agent installed at ~/{agent} does not check out: {problem}")
            : agent;
    }

    /// <summary>Which shipped agent the host takes; asked once per remote loop (a host does not change architecture under a connection).</summary>
    private async Task<string> RuntimeAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("WSYNC_AGENT_RUNTIME") is { Length: > 0 } chosen)
        {
            return chosen;
        }

        var (code, machine, _) = await endpoint.RunAsync("uname -m", cancellationToken).ConfigureAwait(false);
        return (code, machine.Trim()) switch
        {
            (0, "x86_64" or "amd64") => "linux-x64",
            (0, "aarch64" or "arm64") => "linux-arm64",
            _ => throw new AgentException($"wsync ships no agent for this host's architecture ('{machine.Trim()}')"),
        };
    }

    /// <summary>Null when the agent at <paramref name="agent"/> may be started; otherwise what is wrong with it.</summary>
    private async Task<string?> CheckAsync(string agent, string hash, CancellationToken cancellationToken)
    {
        // Every component from the cache down: the user's own, not a symlink, not writable by group or others
        // (ls -ld: the type and mode letters, then the owner's uid with -n).
        var script = new StringBuilder("me=$(id -u)\n");
        foreach (var component in new[] { ".wsync", Cache, agent[..agent.LastIndexOf('/')], agent })
        {
            script.Append($"[ -e {component} ] || {{ echo 'missing'; exit 0; }}\n")
                .Append($"[ -L {component} ] && {{ echo '{component} is a symlink'; exit 0; }}\n")
                .Append($"set -- $(ls -ldn {component}); case $1 in ?????w*|????????w*) echo '{component} is writable by group or others'; exit 0;; esac\n")
                .Append($"[ \"$3\" = \"$me\" ] || {{ echo '{component} belongs to another user'; exit 0; }}\n");
        }

        script.Append($"[ \"$(sha256sum < {agent} | cut -c1-64)\" = {hash} ] || {{ echo 'its SHA-256 is not the one shipped'; exit 0; }}\necho ok\n");
        var (code, output, error) = await endpoint.RunAsync("sh", Encoding.ASCII.GetBytes(script.ToString()), cancellationToken).ConfigureAwait(false);
        var answer = output.Trim();
        return code == 0 && answer == "ok" ? null
            : answer == "missing" ? "missing"
            : answer.Length > 0 ? answer
            : $"the check failed ({code}): {error.Trim()}";
    }

    private static async ValueTask CloseAsync(Process process)
    {
        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        using var grace = new CancellationTokenSource(StopGraces.Agent);
        try
        {
            await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ProcessTree.Kill(process);
        }

        process.Dispose();
    }

    private static string HashOf(string binary)
    {
        lock (Hashes)
        {
            if (!Hashes.TryGetValue(binary, out var hash))
            {
                using var file = File.OpenRead(binary);
                hash = Convert.ToHexStringLower(SHA256.HashData(file));
                Hashes[binary] = hash;
            }

            return hash;
        }
    }

    /// <summary>The version as a name the remote shell reads as plain text: anything but letters, digits, '.' and '-' becomes '-'.</summary>
    private static string Sanitized(string version) =>
        string.Concat(version.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '-'));
}
