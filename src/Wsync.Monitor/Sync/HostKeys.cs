using System.Diagnostics;
using System.Globalization;
using Wsync.Platform;

namespace Wsync.Monitor.Sync;

/// <summary>
/// The keys a host offers, as fingerprints ("ED25519 SHA256:…"): what a user compares with the host's
/// own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it) before trusting it. ssh in BatchMode
/// refuses an unknown key without showing it, so wsync reads it with ssh-keyscan, never trusting it.
/// </summary>
internal static class HostKeys
{
    /// <summary>How long ssh-keyscan may take: the host just answered ssh, so it is quick or not at all.</summary>
    private const int ScanTimeoutSeconds = 5;

    /// <summary>The fingerprints, or none when they cannot be read (the message then says less, nothing fails).</summary>
    public static async Task<IReadOnlyList<string>> FingerprintsAsync(string host, int? port, CancellationToken cancellationToken)
    {
        List<string> scan = ["-T", ScanTimeoutSeconds.ToString(CultureInfo.InvariantCulture)];
        if (port is { } number)
        {
            scan.AddRange(["-p", number.ToString(CultureInfo.InvariantCulture)]);
        }

        scan.AddRange(["--", host]);
        var (scanned, keys) = await RunAsync("ssh-keyscan", scan, null, cancellationToken).ConfigureAwait(false);
        if (!scanned || keys.Length == 0)
        {
            return [];
        }

        var (listed, listing) = await RunAsync("ssh-keygen", ["-l", "-f", "-"], keys, cancellationToken).ConfigureAwait(false);
        if (!listed)
        {
            return [];
        }

        // "256 SHA256:abc… [127.0.0.1]:2222 (ED25519)" → "ED25519 SHA256:abc…"
        return [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 3 && parts[1].Contains(':', StringComparison.Ordinal))
            .Select(parts => $"{parts[^1].Trim('(', ')')} {parts[1]}")
            .Distinct()];
    }

    private static async Task<(bool Succeeded, string Output)> RunAsync(string file, IEnumerable<string> arguments, string? input, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.StandardInput.WriteAsync(input).ConfigureAwait(false);
            process.StandardInput.Close();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(ScanTimeoutSeconds + 2));
            try
            {
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                ProcessTree.Kill(process);
                return (false, "");
            }

            await errors.ConfigureAwait(false);
            return (process.ExitCode == 0, await output.ConfigureAwait(false));
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            return (false, "");
        }
    }
}
