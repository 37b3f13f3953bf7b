using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Serilog;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>
/// A directory on an ssh host, reached through one ControlMaster connection that this endpoint starts
/// and owns. rsync and every remote command ride on it (ControlMaster=no, the same ControlPath), so a
/// batch costs a channel, not a handshake. BatchMode: never a prompt; an unknown host key is an error.
/// </summary>
internal sealed class SshEndpoint : Endpoint
{
    /// <summary>How long a new connection may take before it counts as unreachable.</summary>
    private const int ConnectTimeoutSeconds = 10;

    private readonly Destination destination;
    private readonly RemoteDefinition remote;
    private readonly string controlPath;
    private readonly ILogger log;

    /// <summary>The master process; null when none runs. Touched only by the remote's loop.</summary>
    private Process? master;

    /// <summary>What the master wrote to stderr, for error messages.</summary>
    private readonly StringBuilder masterErrors = new();

    public SshEndpoint(Destination destination, RemoteDefinition remote, string controlPath, ILogger log)
    {
        this.destination = destination;
        this.remote = remote;
        this.controlPath = controlPath;
        this.log = log;
        RsyncTransport = ["-e", string.Join(' ', SlaveOptions().Prepend("ssh"))];
    }

    public override string RsyncRoot => destination.RsyncRoot;

    public override IReadOnlyList<string> RsyncTransport { get; }

    public override bool IsConnected => master is { HasExited: false } && File.Exists(controlPath);

    public override async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (master is null && File.Exists(controlPath))
        {
            // Left by a monitor that never stopped (killed along with its daemon): its master may still
            // be logged in. Deleting the socket would orphan that connection for good; ask it to leave.
            log.Warning("Asking the ssh master left on {ControlPath} to exit", controlPath);
            await AskMasterToExitAsync().ConfigureAwait(false);
        }

        await InvalidateAsync().ConfigureAwait(false);
        var start = new ProcessStartInfo("ssh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in MasterArguments())
        {
            start.ArgumentList.Add(argument);
        }

        lock (masterErrors)
        {
            masterErrors.Clear();
        }

        master = Process.Start(start) ?? throw new InvalidOperationException("could not start ssh");
        var errors = master.StandardError;
        var reading = Task.Run(async () =>
        {
            string? line;
            while ((line = await errors.ReadLineAsync().ConfigureAwait(false)) is not null)
            {
                lock (masterErrors)
                {
                    if (masterErrors.Length < 4096)
                    {
                        masterErrors.AppendLine(line);
                    }
                }
            }
        }, CancellationToken.None);

        var deadline = Stopwatch.StartNew();
        while (!File.Exists(controlPath))
        {
            if (master.HasExited)
            {
                await master.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                await reading.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
                string text;
                lock (masterErrors)
                {
                    text = masterErrors.ToString().Trim();
                }

                master.Dispose();
                master = null;
                var failure = SshErrors.Classify(text, remote.Destination, remote.IdentityFile);
                if (failure.ErrorId == ErrorIds.HostKeyUnknown && destination.Host is { } host &&
                    await HostKeys.FingerprintsAsync(host, destination.Port, cancellationToken).ConfigureAwait(false) is { Count: > 0 } offered)
                {
                    failure = new EndpointException(failure.ErrorId, failure.Category, failure.Permanent,
                        $"{failure.Message} The host offers {string.Join(", ", offered)}; compare with the host's own key before trusting it.");
                }

                throw failure;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(ConnectTimeoutSeconds + 5))
            {
                await InvalidateAsync().ConfigureAwait(false);
                throw new EndpointException(ErrorIds.DestinationUnreachable, WsyncErrorCategory.OperationTimeout, permanent: false,
                    $"ssh to {destination.SshTarget} did not connect within {ConnectTimeoutSeconds + 5} s.");
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }

        var (code, _, error) = await RunAsync($"mkdir -p -- {RemoteShell.Quote(destination.Path)}", cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            // Retrying, not Failed: a permission or a full disk on the remote is fixed there, and then this passes.
            throw new EndpointException(ErrorIds.DestinationNotWritable, WsyncErrorCategory.PermissionDenied, permanent: false,
                $"Could not create {destination.Path} on {destination.SshTarget}: {error.Trim()}");
        }

        log.Information("Connected to {Target} (control socket {ControlPath})", destination.SshTarget, controlPath);
    }

    public override async Task InvalidateAsync()
    {
        if (master is not null)
        {
            if (!master.HasExited)
            {
                ProcessTree.Kill(master);
            }

            await master.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            master.Dispose();
            master = null;
        }

        try
        {
            File.Delete(controlPath);
        }
        catch (IOException)
        {
        }
    }

    public override async Task MoveAsync(IReadOnlyList<PendingMove> moves, CancellationToken cancellationToken)
    {
        if (moves.Count == 0)
        {
            return;
        }

        // One remote shell for every rename, in order. A rename onto an existing directory is left to
        // rsync (mv would move into it); so is any rename that fails.
        var script = new StringBuilder($"cd -- {RemoteShell.Quote(destination.Path)} || exit 1\n");
        foreach (var move in moves)
        {
            var from = RemoteShell.Quote(move.From);
            var to = RemoteShell.Quote(move.To);
            var parent = Path.GetDirectoryName(move.To);
            script.Append("if [ -e ").Append(from).Append(" ] || [ -L ").Append(from).Append(" ]; then ")
                .Append("if [ ! -d ").Append(to).Append(" ] || [ -L ").Append(to).Append(" ]; then ");
            if (!string.IsNullOrEmpty(parent))
            {
                script.Append("mkdir -p -- ").Append(RemoteShell.Quote(parent)).Append(" && ");
            }

            script.Append("mv -f -- ").Append(from).Append(' ').Append(to).Append("; fi; fi\n");
        }

        // The script goes on stdin as bytes: names that are not UTF-8 would not survive a command line.
        var (code, _, error) = await RunAsync("sh", LinuxPath.ToBytes(script.ToString()), cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            log.Debug("Remote renames failed ({Code}): {Error}; rsync will make the remote right", code, error.Trim());
        }
    }

    public override async Task SetRootTimeAsync(long seconds, uint nanoseconds, CancellationToken cancellationToken)
    {
        // The time as digits, the path quoted: neither is ever code. GNU touch takes "@seconds.nanoseconds".
        var time = string.Create(CultureInfo.InvariantCulture, $"@{seconds}.{nanoseconds:D9}");
        var (code, _, error) = await RunAsync($"touch -m -d {time} -- {RemoteShell.Quote(destination.Path)}", cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            log.Debug("Could not set the time of the remote root ({Code}): {Error}; the next reconcile sets it", code, error.Trim());
        }
    }

    public override async Task<Scratch?> CreateScratchAsync(Guid owner, CancellationToken cancellationToken)
    {
        // Named here, not by mktemp: a loop that ends while the command runs may never read the name back,
        // and must still be able to remove the directory. mkdir refuses an existing name, as mktemp does.
        var temporary = "\"${TMPDIR:-/tmp}\"/";
        var directory = temporary + RemoteShell.Quote(ScratchPrefix(owner) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
        int code;
        string output;
        try
        {
            // Not cancelled with the loop: the remote shell outlives an ssh client killed under it, and its mkdir
            // would then land after the removal below. The command is short, so it is bounded instead.
            using var bound = new CancellationTokenSource(StopGraces.RemoteScratch);
            (code, output, _) = await RunAsync(
                $"rm -rf -- {temporary}{ScratchPrefix(owner)}*; d={directory} && mkdir -m 700 -- \"$d\" && mkdir -- \"$d/gone\" && printf '%s' \"$d\"",
                bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            code = -1;
            output = "";
        }

        var scratch = output.Trim();
        if (cancellationToken.IsCancellationRequested || code != 0 || scratch.Length == 0 || !scratch.StartsWith('/'))
        {
            await RemoveAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return null;
        }

        var operand = (destination.User is null ? "" : destination.User + "@") +
            (destination.Host!.Contains(':') ? $"[{destination.Host}]" : destination.Host) + ":" + scratch + "/";
        return new Scratch(operand, IsGoneAsync, RemoveAsync);

        async Task<bool> IsGoneAsync() =>
            (await RunAsync($"test ! -e {RemoteShell.Quote(scratch + "/gone")}", CancellationToken.None).ConfigureAwait(false)).Code == 0;

        // Runs while the loop ends too (the token is cancelled then), so it has its own bound: over a cut
        // link it would otherwise wait for the master to give up.
        async Task RemoveAsync()
        {
            using var bound = new CancellationTokenSource(StopGraces.RemoteScratch);
            try
            {
                await RunAsync($"rm -rf -- {directory}", bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                log.Warning("Could not remove the self-test directory {Scratch} on {Target} within {Seconds} s", directory, destination.SshTarget, StopGraces.RemoteScratch.TotalSeconds);
            }
        }
    }

    public override async Task<bool> HasEntriesAsync(CancellationToken cancellationToken)
    {
        // One command over the master; the path is data (quoted), and a missing directory counts as empty.
        var (code, _, error) = await RunAsync(
            $"cd -- {RemoteShell.Quote(destination.Path)} 2>/dev/null || exit 1; [ -n \"$(ls -A)\" ]", cancellationToken).ConfigureAwait(false);
        return code switch
        {
            0 => true,
            1 => false,
            _ => throw new EndpointException(ErrorIds.DestinationUnreachable, WsyncErrorCategory.ConnectionError, permanent: false,
                $"Could not list {destination.Path} on {destination.SshTarget} (exit code {code}): {error.Trim()}"),
        };
    }

    public override async ValueTask DisposeAsync()
    {
        if (master is { HasExited: false })
        {
            await AskMasterToExitAsync().ConfigureAwait(false);
            using var grace = new CancellationTokenSource(StopGraces.SshMaster);
            try
            {
                await master.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await InvalidateAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Asks the master listening on the control socket (this endpoint's or a leftover) to exit cleanly: it
    /// closes the connection and removes its socket. Waits at most <see cref="StopGraces.SshMaster"/>.
    /// </summary>
    private async Task AskMasterToExitAsync()
    {
        var stop = new ProcessStartInfo("ssh") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-o", $"ControlPath={controlPath}", "-O", "exit", "--", destination.SshTarget })
        {
            stop.ArgumentList.Add(argument);
        }

        using var exit = Process.Start(stop);
        if (exit is not null)
        {
            using var grace = new CancellationTokenSource(StopGraces.SshMaster);
            try
            {
                await exit.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                ProcessTree.Kill(exit);
            }
        }
    }

    /// <summary>
    /// Starts a command line on the remote over the master and leaves it running, its stdin, stdout and stderr
    /// the caller's (a session that lasts, like the agent's). The caller quotes every operand.
    /// </summary>
    public Process Start(string command)
    {
        var start = new ProcessStartInfo("ssh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in SlaveOptions().Append("--").Append(destination.SshTarget).Append(command))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start ssh");
    }

    /// <summary>The mirror's root as a path the remote resolves from the login's home (where a command starts): "~/x" is "x".</summary>
    public string RootFromHome => destination.Path switch
    {
        "~" => ".",
        var path when path.StartsWith("~/", StringComparison.Ordinal) => path[2..],
        var path => path,
    };

    /// <summary>Runs a command line on the remote over the master; the caller quotes every operand.</summary>
    public Task<(int Code, string Output, string Error)> RunAsync(string command, CancellationToken cancellationToken) =>
        RunAsync(command, null, cancellationToken);

    /// <summary>Runs a command line on the remote over the master with <paramref name="input"/> on its stdin.</summary>
    public async Task<(int Code, string Output, string Error)> RunAsync(string command, byte[]? input, CancellationToken cancellationToken)
    {
        using var process = Start(command);
        if (input is not null)
        {
            try
            {
                await process.StandardInput.BaseStream.WriteAsync(input, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // ssh exited before it read everything: its exit code says why
            }
        }

        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ProcessTree.Kill(process);
            throw;
        }

        return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }

    /// <summary>The master: authenticates with the remote's options and holds the connection for everyone else.</summary>
    private IEnumerable<string> MasterArguments()
    {
        string[] fixedOptions =
        [
            "-M", "-N",
            "-o", "ControlMaster=yes",
            "-o", $"ControlPath={controlPath}",
            "-o", "ControlPersist=no",
            "-o", "BatchMode=yes",
            "-o", $"ConnectTimeout={ConnectTimeoutSeconds}",
            "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3",
        ];
        foreach (var option in fixedOptions)
        {
            yield return option;
        }

        if (destination.Port is { } port)
        {
            yield return "-p";
            yield return port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (remote.IdentityFile is { } identity)
        {
            yield return "-i";
            yield return identity;
            yield return "-o";
            yield return "IdentitiesOnly=yes";
        }

        foreach (var option in remote.SshOptions)
        {
            yield return "-o";
            yield return option;
        }

        yield return "--";
        yield return destination.SshTarget;
    }

    /// <summary>Options of every connection that rides on the master. No spaces: rsync's -e splits on them.</summary>
    private IEnumerable<string> SlaveOptions()
    {
        yield return "-o";
        yield return $"ControlPath={controlPath}";
        yield return "-o";
        yield return "ControlMaster=no";
        yield return "-o";
        yield return "BatchMode=yes";
        yield return "-o";
        yield return $"ConnectTimeout={ConnectTimeoutSeconds}";
        if (destination.Port is { } port)
        {
            yield return "-p";
            yield return port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
