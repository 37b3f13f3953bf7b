using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>
/// The daemon's socket under garbage: malformed frames, oversized messages, unknown methods, wrong
/// parameters, clients that never speak and clients that leave mid-call. The daemon keeps serving a
/// well-behaved client throughout, and afterwards holds no more connections than before.
/// </summary>
public sealed class HostileClientTests : IDisposable
{
    /// <summary>How long the fuzzers run: long enough for a few thousand connections on two cores.</summary>
    private static readonly TimeSpan FuzzFor = TimeSpan.FromSeconds(8);

    /// <summary>Concurrent fuzzing connections.</summary>
    private const int Fuzzers = 6;

    /// <summary>Clients that connect and never say anything, held open for the whole run.</summary>
    private const int Silent = 20;

    /// <summary>The kinds of garbage, each a function from a random source to the bytes sent before closing.</summary>
    private static readonly (string Name, Func<Random, byte[]> Bytes)[] Cases =
    [
        ("random bytes", random => RandomBytes(random, random.Next(1, 65536))),
        ("a header that is not a header", random => Ascii("Content-Length: many\r\n\r\n{}")),
        ("a negative length", random => Ascii("Content-Length: -5\r\n\r\n{}")),
        ("a header with no end", random => Ascii("Content-Type: application/json; " + new string('x', 100_000))),
        ("a length far beyond what follows", random => [.. Ascii("Content-Length: 2147483647\r\n\r\n"), .. RandomBytes(random, 4096)]),
        ("an oversized message, abandoned", random => [.. Ascii("Content-Length: 67108864\r\n\r\n"), .. RandomBytes(random, 8 << 20)]),
        ("a frame that is not JSON", random => Frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":")),
        ("JSON that is not a request", random => Frame("[1,2,3]")),
        ("an unknown method", random => Frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"FormatDisk\",\"params\":[]}")),
        ("a known method with parameters of the wrong type", random => Frame("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"AddWorkspaceAsync\",\"params\":[42]}")),
        ("a known method with too many parameters", random => Frame("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"RemoveWorkspaceAsync\",\"params\":[\"a\",\"b\",\"c\",\"d\"]}")),
        ("a call left mid-way", random => Frame("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"WaitWorkspaceAsync\",\"params\":[\"kept\",60000]}")),
        ("a valid request with flipped bits", random => Mutate(random, Frame("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"GetWorkspacesAsync\",\"params\":[]}"))),
    ];

    private readonly TempDirectory temp = new("hc");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Garbage_on_the_socket_never_stops_the_daemon_serving_everyone_else()
    {
        using var daemon = DaemonProcess.Start(temp.Combine("home"));
        using var client = await TestClient.ConnectAsync(daemon.SocketPath);
        await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("kept") }, CancellationToken.None));
        var baseline = OpenSockets(daemon.ProcessId);

        var silent = new List<Socket>();
        for (var i = 0; i < Silent; i++)
        {
            silent.Add(await ConnectAsync(daemon.SocketPath));
        }

        var clock = Stopwatch.StartNew();
        var sent = new int[Cases.Length];
        var fuzzers = Enumerable.Range(0, Fuzzers).Select(seed => Task.Run(async () =>
        {
            var random = new Random(20261125 + seed);
            while (clock.Elapsed < FuzzFor)
            {
                var index = random.Next(Cases.Length);
                await SendAndLeaveAsync(daemon.SocketPath, Cases[index].Bytes(random));
                Interlocked.Increment(ref sent[index]);
            }
        })).ToArray();

        // The well-behaved client is answered, correctly, all the while.
        var answered = 0;
        while (clock.Elapsed < FuzzFor)
        {
            var workspaces = await client.Call(client.Daemon.GetWorkspacesAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(["kept"], workspaces.Select(w => w.Name));
            answered++;
        }

        await Task.WhenAll(fuzzers);
        foreach (var socket in silent)
        {
            socket.Dispose();
        }

        Assert.All(Enumerable.Range(0, Cases.Length), i => Assert.True(sent[i] > 0, $"case '{Cases[i].Name}' never ran"));
        Assert.True(answered > 10, $"the well-behaved client was answered only {answered} times in {FuzzFor.TotalSeconds} s");
        Assert.False(daemon.HasExited, "the daemon died under garbage:\n" + daemon.Output);

        // A fresh client still gets everything done, and no connection of the fuzzers is left open.
        using var fresh = await TestClient.ConnectAsync(daemon.SocketPath);
        await fresh.Call(fresh.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("after") }, CancellationToken.None));
        await fresh.Call(fresh.Daemon.RemoveWorkspaceAsync("after", CancellationToken.None));
        await Poll.UntilAsync(() => Task.FromResult(OpenSockets(daemon.ProcessId) <= baseline + 1), TimeSpan.FromSeconds(20),
            $"the daemon to close the fuzzers' connections (it had {baseline} sockets before; one more is the fresh client)");
        Assert.Equal(["kept"], (await fresh.Call(fresh.Daemon.GetWorkspacesAsync(CancellationToken.None))).Select(w => w.Name));
    }

    /// <summary>
    /// The socket is 0600 in a 0700 directory; this opens both to everyone (as a careless chmod would) to
    /// show the second lock: the daemon reads the peer's uid (SO_PEERCRED) and hangs up on anyone else.
    /// Needs root to act as another user; without root only the modes are checked.
    /// </summary>
    [Fact]
    public async Task Another_user_who_reaches_the_socket_is_refused_by_uid()
    {
        using var daemon = DaemonProcess.Start(temp.Combine("home"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(daemon.SocketPath));
        if (!LoginAccount.IsRoot)
        {
            return;
        }

        const string stranger = "wsync-test";
        LoginAccount.Ensure(stranger, "/");
        var everyone = (UnixFileMode)0b111_111_111;
        File.SetUnixFileMode(temp.Path, everyone);
        File.SetUnixFileMode(daemon.Home, everyone);
        File.SetUnixFileMode(daemon.SocketPath, everyone);

        // perl is in every Debian base system; it speaks a JSON-RPC request as the stranger and says on stderr what came back.
        const string request = """
            use IO::Socket::UNIX;
            select STDERR;
            my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or do { print "connect failed: $!\n"; exit 2 };
            my $body = '{"jsonrpc":"2.0","id":1,"method":"GetWorkspacesAsync","params":[]}';
            print $s "Content-Length: " . length($body) . "\r\n\r\n" . $body;
            $SIG{ALRM} = sub { print "no answer and no hang-up\n"; exit 3 };
            alarm 10;
            my $n = sysread($s, my $answer, 65536);
            print defined $n ? "read $n bytes: $answer\n" : "read failed: $!\n";
            """;
        var (exitCode, output) = Processes.Run("setpriv", ["--reuid", stranger, "--regid", stranger, "--clear-groups", "perl", "-e", request, daemon.SocketPath]);

        Assert.True(exitCode == 0 && (output.Contains("read 0 bytes", StringComparison.Ordinal) || output.Contains("read failed", StringComparison.Ordinal)),
            $"the stranger should be hung up on without an answer; perl said ({exitCode}): {output}");
        await Poll.UntilAsync(() => Task.FromResult(LogText(daemon).Contains("Refused a connection from uid", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the daemon to log the refusal");
        using var owner = await TestClient.ConnectAsync(daemon.SocketPath);
        Assert.Empty(await owner.Call(owner.Daemon.GetWorkspacesAsync(CancellationToken.None)));
    }

    private static string LogText(DaemonProcess daemon) =>
        string.Concat(Directory.EnumerateFiles(Path.Combine(daemon.Home, "logs"), "wsyncd-*").Select(file =>
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(stream).ReadToEnd();
        }));

    private static async Task<Socket> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        return socket;
    }

    /// <summary>Sends the bytes (the daemon may hang up first: that is its right), then closes.</summary>
    private static async Task SendAndLeaveAsync(string socketPath, byte[] bytes)
    {
        using var socket = await ConnectAsync(socketPath);
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception exception) when (exception is SocketException or TimeoutException)
        {
        }
    }

    /// <summary>Sockets the process holds open: the listener, its connections, and its monitors' channels are pipes.</summary>
    private static int OpenSockets(int pid) =>
        Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false;
            }
        });

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] Frame(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return [.. Ascii($"Content-Length: {body.Length}\r\n\r\n"), .. body];
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] bytes)
    {
        for (var flips = random.Next(1, 4); flips > 0; flips--)
        {
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        }

        return bytes;
    }
}
