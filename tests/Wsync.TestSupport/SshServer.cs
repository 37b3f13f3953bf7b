using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wsync.TestSupport;

/// <summary>
/// A private sshd on 127.0.0.1 for the tests: a free high port, its own host key, an authorized client
/// key and a known_hosts file. As root (CI) it logs in as <see cref="TestAccount"/>, a plain-shell account
/// (see <see cref="LoginAccount"/>); otherwise as the current user. Stopping kills the daemon and every
/// session process it spawned, by pid.
/// </summary>
public sealed class SshServer : IDisposable
{
    private Process? process;

    /// <summary>Counted from sshd's log on its reader thread; read with <see cref="AcceptedLogins"/>.</summary>
    private int acceptedLogins;

    private SshServer(string directory, string user)
    {
        Directory = directory;
        User = user;
    }

    /// <summary>Where the keys, config and known_hosts live.</summary>
    public string Directory { get; }

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    /// <summary>The account sessions log in as: remote directories must be writable by it (<see cref="Own"/>).</summary>
    public string User { get; }

    /// <summary>The plain-shell account the tests' sshd logs in as when they run as root; created on first use and kept.</summary>
    public const string TestAccount = "wsync-test";

    /// <summary>Its home: its own, where a wsync agent is installed as on any host (~/.wsync/agents).</summary>
    public const string TestHome = "/var/lib/wsync-test";

    /// <summary>The client's private key, for -IdentityFile.</summary>
    public string IdentityFile => Path.Combine(Directory, "client_ed25519");

    /// <summary>A known_hosts holding this server's host key.</summary>
    public string KnownHostsFile => Path.Combine(Directory, "known_hosts");

    /// <summary>The -SshOption values a remote on this server needs.</summary>
    public string[] SshOptions => [$"UserKnownHostsFile={KnownHostsFile}"];

    public int? ProcessId => process?.Id;

    /// <summary>Logins sshd accepted so far (its "Accepted publickey" log lines): how many connections a client opened.</summary>
    public int AcceptedLogins => acceptedLogins;

    /// <summary>The destination of <paramref name="path"/> on this server: user@127.0.0.1:path.</summary>
    public string Destination(string path) => $"{User}@{Host}:{path}";

    /// <summary>
    /// Generates keys and config under <paramref name="directory"/> and starts sshd. Sessions log in as
    /// <paramref name="user"/> (default: <see cref="TestAccount"/> as root, else the current user). Another
    /// account reads the authorized keys itself, so the directory is made world-readable (private keys stay 0600).
    /// <paramref name="config"/> lines are added to sshd_config (a session's environment, say).
    /// </summary>
    public static SshServer Start(string directory, string? user = null, IEnumerable<string>? config = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        if (user is null && LoginAccount.IsRoot)
        {
            LoginAccount.Ensure(TestAccount, TestHome);
            user = TestAccount;
        }

        var server = new SshServer(directory, user ?? Environment.UserName);
        try
        {
            server.Prepare(config ?? []);
            server.Launch();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>Stops sshd and every session (the outage of a network cut); <see cref="Resume"/> brings it back on the same port.</summary>
    public void Stop()
    {
        if (process is null)
        {
            return;
        }

        var all = Processes.Descendants(process.Id);
        foreach (var pid in all.Append(process.Id))
        {
            Processes.Kill(pid);
        }

        process.WaitForExit();
        process.Dispose();
        process = null;
    }

    public void Resume() => Launch();

    /// <summary>
    /// Makes <paramref name="path"/> the login account's, with everything in it (<paramref name="recursive"/>),
    /// so that a remote can be mirrored into it; or, for a directory the remote will create, its parent alone.
    /// </summary>
    public void Own(string path, bool recursive = true)
    {
        if (User != Environment.UserName)
        {
            LoginAccount.Own(User, path, recursive);
        }
    }

    /// <summary>Adds this server's host key to known_hosts for another port (a proxy in front of it).</summary>
    public void TrustPort(int port)
    {
        var hostKey = File.ReadAllText(Path.Combine(Directory, "host_ed25519.pub")).Trim();
        File.AppendAllText(KnownHostsFile, $"[{Host}]:{port} {string.Join(' ', hostKey.Split(' ').Take(2))}\n");
    }

    public void Dispose() => Stop();

    private void Prepare(IEnumerable<string> config)
    {
        var sshd = File.Exists("/usr/sbin/sshd") ? "/usr/sbin/sshd" : throw new InvalidOperationException("sshd is not installed (apt-get install openssh-server)");
        _ = sshd;
        Processes.RunChecked("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "wsync-test-host", "-f", Path.Combine(Directory, "host_ed25519")]);
        Processes.RunChecked("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "wsync-test-client", "-f", IdentityFile]);
        File.Copy(IdentityFile + ".pub", Path.Combine(Directory, "authorized_keys"));
        var readable = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (User != Environment.UserName)
        {
            readable |= UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            File.SetUnixFileMode(Directory, readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        File.SetUnixFileMode(Path.Combine(Directory, "authorized_keys"), readable);
        Port = FreePort();
        File.WriteAllText(KnownHostsFile, "");
        TrustPort(Port);
        File.WriteAllText(Path.Combine(Directory, "sshd_config"), $"""
            Port {Port}
            ListenAddress {Host}
            HostKey {Path.Combine(Directory, "host_ed25519")}
            PidFile {Path.Combine(Directory, "sshd.pid")}
            AuthorizedKeysFile {Path.Combine(Directory, "authorized_keys")}
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            StrictModes no
            MaxSessions 128
            MaxStartups 200:30:400
            LogLevel INFO

            """ + string.Join('\n', config));

        if (NativeIds.EffectiveUserId == 0)
        {
            // sshd's privilege separation directory.
            System.IO.Directory.CreateDirectory("/run/sshd");
        }
    }

    private void Launch()
    {
        var start = new ProcessStartInfo("/usr/sbin/sshd")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-D", "-e", "-f", Path.Combine(Directory, "sshd_config") })
        {
            start.ArgumentList.Add(argument);
        }

        process = Process.Start(start) ?? throw new InvalidOperationException("could not start sshd");
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data?.Contains("Accepted publickey", StringComparison.Ordinal) == true)
            {
                Interlocked.Increment(ref acceptedLogins);
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        Poll.Until(() => process.HasExited || Accepts(), TimeSpan.FromSeconds(20), $"sshd to listen on port {Port}");
        if (process.HasExited)
        {
            throw new InvalidOperationException($"sshd exited with {process.ExitCode}; config in {Directory}");
        }
    }

    private bool Accepts()
    {
        using var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static partial class NativeIds
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public static uint EffectiveUserId => GetEuid();
}
