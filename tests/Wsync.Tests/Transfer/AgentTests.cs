using System.Text;
using Serilog;
using Wsync.Monitor.Sync;
using Wsync.Platform;
using Wsync.TestSupport;
using Wsync.Transfer;

namespace Wsync.Tests.Transfer;

/// <summary>
/// The real wsync-agent, spoken to as the monitor speaks to it (the monitor's own channel and plan), and with
/// frames crafted by hand: what it writes is what rsync would leave; it never writes outside its root; a
/// frame it cannot trust ends the session; a shell's greeting is named, never read as frames; one agent per root.
/// </summary>
public sealed class AgentTests : IDisposable
{
    private readonly TempDirectory temp = new("agent");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Requests_leave_exactly_what_rsync_would_so_a_full_reconcile_finds_nothing_to_do()
    {
        var source = temp.CreateDirectory("source");
        var mirror = temp.CreateDirectory("mirror");
        var when = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);
        Write(source, "plain.txt", "hello\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, when);
        Write(source, "script.sh", "#!/bin/sh\necho hi\n", (UnixFileMode)0b111_101_101, when.AddSeconds(1));
        Write(source, "secret", "s3cret", UnixFileMode.UserRead | UnixFileMode.UserWrite, when.AddSeconds(2));
        Write(source, "empty", "", (UnixFileMode)0b110_100_100, when.AddSeconds(3));
        Directory.CreateDirectory(Path.Combine(source, "dir/nested"));
        Write(source, "dir/nested/deep.txt", "deep", (UnixFileMode)0b110_100_100, when.AddSeconds(4));
        File.SetUnixFileMode(Path.Combine(source, "dir"), (UnixFileMode)0b111_101_000);
        File.CreateSymbolicLink(Path.Combine(source, "link"), "plain.txt");
        File.CreateSymbolicLink(Path.Combine(source, "dangling"), "nowhere/at/all");
        File.CreateSymbolicLink(Path.Combine(source, "absolute"), "/etc/passwd");
        RawFiles.WriteAll(source + "/" + RawFiles.FromBytes([.. "caf"u8, 0xE9]), "latin-1 name"u8.ToArray());
        Directory.SetLastWriteTimeUtc(Path.Combine(source, "dir/nested"), when.AddDays(-1));
        Directory.SetLastWriteTimeUtc(Path.Combine(source, "dir"), when.AddDays(-2));

        await using var agent = await OpenAgent.OpenAsync(mirror);
        await ApplyAsync(agent, source, [], TreeSnapshot.Capture(source).Entries.Keys.Prepend(""));
        Assert.Empty(TreeSnapshot.Compare(source, mirror));
        Assert.Empty(RsyncCheck.Differences(source, mirror));

        // Every kind of change, each path as the workspace has it now, a rename replayed first.
        File.Delete(Path.Combine(source, "plain.txt"));
        Directory.Delete(Path.Combine(source, "dir/nested"), recursive: true);
        File.WriteAllText(Path.Combine(source, "dir/nested"), "a file where a directory was");
        File.Delete(Path.Combine(source, "secret"));
        Directory.CreateDirectory(Path.Combine(source, "secret"));
        File.Delete(Path.Combine(source, "link"));
        File.CreateSymbolicLink(Path.Combine(source, "link"), "dir");
        File.SetUnixFileMode(Path.Combine(source, "script.sh"), (UnixFileMode)0b111_000_000);
        File.Move(Path.Combine(source, "empty"), Path.Combine(source, "renamed"));
        await ApplyAsync(agent, source, [new PendingMove("empty", "renamed", false)], ["", "plain.txt", "dir/nested", "secret", "link", "script.sh", "empty", "renamed"]);
        Assert.Empty(TreeSnapshot.Compare(source, mirror));
        Assert.Empty(RsyncCheck.Differences(source, mirror));
    }

    [Theory]
    [InlineData("../outside/escaped")]
    [InlineData("/tmp/wsync-agent-absolute")]
    [InlineData("inside/../../outside/escaped")]
    [InlineData("./escaped")]
    [InlineData("")]
    [InlineData("double//slash")]
    public async Task A_write_that_would_leave_the_root_is_refused_writes_nothing_and_ends_the_session(string path)
    {
        var (root, outside) = Rooms();
        using var agent = new AgentProcess();
        await agent.HandshakeAsync(root);

        await agent.SendAsync(new FrameWriter().Begin(FrameKind.WriteFile).Path(path).U32(0x1A4).I64(0).U32(0).Content("pwned"u8).End());

        Assert.Equal(FrameKind.Refused, (await agent.Reader.ReadAsync(CancellationToken.None))?.Kind);
        Assert.Equal((int)AgentExit.Refused, await agent.ExitCodeAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.False(File.Exists("/tmp/wsync-agent-absolute"));
        Assert.Equal(["link"], Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName));
    }

    /// <summary>
    /// A symlink on the way fails the request (ENOTDIR) without ending the session: a mirror behind the
    /// workspace may hold a link where the workspace now has a directory, and rsync then sends that path.
    /// </summary>
    [Fact]
    public async Task No_request_reaches_through_a_mirrored_symlink_and_a_link_itself_is_replaced_never_followed()
    {
        var (root, outside) = Rooms();
        File.WriteAllText(Path.Combine(outside, "precious"), "keep me");
        File.SetUnixFileMode(Path.Combine(outside, "precious"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var requests = new Func<FrameWriter, FrameWriter>[]
        {
            f => f.Begin(FrameKind.WriteFile).Path("link/escaped").U32(0x1A4).I64(0).U32(0).Content("pwned"u8).End(),
            f => f.Begin(FrameKind.WriteFile).Path("link/deeper/escaped").U32(0x1A4).I64(0).U32(0).Content("pwned"u8).End(),
            f => f.Begin(FrameKind.Remove).Path("link/precious").U8(1).End(),
            f => f.Begin(FrameKind.SetAttributes).Path("link/precious").U8(1).U32(0x1FF).I64(0).U32(0).End(),
            f => f.Begin(FrameKind.Rename).Path("link/precious").Path("stolen").End(),
            f => f.Begin(FrameKind.MakeDirectory).Path("link/made").U32(0x1ED).I64(0).U32(0).End(),
            f => f.Begin(FrameKind.Symlink).Path("link/planted").Path("/").I64(0).U32(0).End(),
        };
        foreach (var request in requests)
        {
            using var agent = new AgentProcess();
            await agent.HandshakeAsync(root);
            await agent.SendAsync(request(new FrameWriter()));
            var reply = await agent.Reader.ReadAsync(CancellationToken.None);
            Assert.Equal(FrameKind.Failed, reply?.Kind);
            Assert.Equal(20, reply!.Value.Fields.I32()); // ENOTDIR: the request fails, and the session goes on
        }

        // A request for the link itself acts on the link: its target stays as it was.
        using (var agent = new AgentProcess())
        {
            await agent.HandshakeAsync(root);
            await agent.SendAsync(new FrameWriter()
                .Begin(FrameKind.SetAttributes).Path("link").U8(1).U32(0x1FF).I64(0).U32(0).End()
                .Begin(FrameKind.WriteFile).Path("link").U32(0x1A4).I64(0).U32(0).Content("now a file"u8).End());
            Assert.Equal(FrameKind.Done, (await agent.Reader.ReadAsync(CancellationToken.None))?.Kind);
            Assert.Equal(FrameKind.Done, (await agent.Reader.ReadAsync(CancellationToken.None))?.Kind);
        }

        Assert.Equal(["precious"], Directory.EnumerateFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(outside, "precious")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(outside, "precious")));
        Assert.Equal("now a file", File.ReadAllText(Path.Combine(root, "link")));
    }

    public static TheoryData<string, byte[]> BrokenFrames => new()
    {
        { "longer than the maximum", Frame(AgentProtocol.MaxFrame + 1, (byte)FrameKind.Barrier) },
        { "of length zero", [0, 0, 0, 0] },
        { "a field running past its end", [.. Frame(5, (byte)FrameKind.WriteFile), 0, 200, (byte)'a', (byte)'b'] },
        { "bytes past its last field", [.. Frame(3, (byte)FrameKind.Barrier), 1, 2] },
        { "a kind that is not a request", [.. Frame(1, (byte)FrameKind.Welcome)] },
        { "cut short by the end of input", [.. Frame(100, (byte)FrameKind.WriteFile), 0, 1] },
    };

    [Theory]
    [MemberData(nameof(BrokenFrames))]
    public async Task A_frame_that_cannot_be_trusted_ends_the_session_with_the_reason(string what, byte[] frame)
    {
        var (root, _) = Rooms();
        using var agent = new AgentProcess();
        await agent.HandshakeAsync(root);

        await agent.Input.WriteAsync(frame);
        agent.Input.Close();

        var reply = await agent.Reader.ReadAsync(CancellationToken.None);
        Assert.True(reply?.Kind == FrameKind.Refused, $"a frame {what}: {reply?.Kind}");
        Assert.Equal((int)AgentExit.Refused, await agent.ExitCodeAsync());
        Assert.Contains("refused", await agent.Errors);
        Assert.Equal(["link"], Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName));
    }

    [Fact]
    public async Task What_a_login_shell_prints_before_the_agent_is_named_in_the_error_never_read_as_frames()
    {
        var (root, _) = Rooms();
        using var agent = new AgentProcess("echo 'Welcome to build-7 (motd)'; printf 'nvm: loaded\\n'");

        var error = await Assert.ThrowsAsync<AgentException>(() =>
            AgentChannel.OpenAsync(agent.Input, agent.Output, root, () => ValueTask.CompletedTask, _ => { }, CancellationToken.None));

        Assert.Contains("Welcome to build-7 (motd)", error.Message);
        Assert.Contains("nvm: loaded", error.Message);
    }

    [Fact]
    public async Task One_agent_per_root_the_second_is_told_why_and_the_first_goes_on()
    {
        var (root, _) = Rooms();
        await using var first = await OpenAgent.OpenAsync(root);
        using var second = new AgentProcess();

        var error = await Assert.ThrowsAsync<AgentException>(() =>
            AgentChannel.OpenAsync(second.Input, second.Output, root, () => ValueTask.CompletedTask, _ => { }, CancellationToken.None));

        Assert.Contains("Another wsync agent", error.Message);
        Assert.Equal((int)AgentExit.Root, await second.ExitCodeAsync());
        var replies = await first.Channel.ExchangeAsync(new FrameWriter().Begin(FrameKind.WriteFile).Path("still-mine").U32(0x1A4).I64(0).U32(0).Content("ok"u8).End(), CancellationToken.None);
        Assert.True(replies.Single().Done);
        Assert.Equal("ok", File.ReadAllText(Path.Combine(root, "still-mine")));
    }

    [Fact]
    public async Task An_agent_exits_when_its_input_closes_and_refuses_input_that_is_not_from_a_monitor()
    {
        var (root, _) = Rooms();
        using (var agent = new AgentProcess())
        {
            await agent.HandshakeAsync(root);
            agent.Input.Close();
            Assert.Equal((int)AgentExit.Closed, await agent.ExitCodeAsync());
        }

        using (var agent = new AgentProcess())
        {
            await agent.Input.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n"));
            agent.Input.Close();
            Assert.Equal((int)AgentExit.Handshake, await agent.ExitCodeAsync());
        }

        using (var agent = new AgentProcess())
        {
            await agent.SendAsync(new FrameWriter().Raw(AgentProtocol.MonitorMagic.Span).Begin(FrameKind.Hello).U16(AgentProtocol.Version + 1).Path(root).End());
            var error = await Assert.ThrowsAsync<AgentException>(() =>
                AgentChannel.OpenAsync(Stream.Null, agent.Output, root, () => ValueTask.CompletedTask, _ => { }, CancellationToken.None));
            Assert.Contains($"speaks protocol {AgentProtocol.Version}", error.Message);
            Assert.Equal((int)AgentExit.Handshake, await agent.ExitCodeAsync());
        }
    }

    /// <summary>A frame's length and kind, for crafting broken ones.</summary>
    private static byte[] Frame(long length, byte kind) => [(byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length, kind];

    /// <summary>A root holding a symlink "link" to a directory outside it, and that directory (empty).</summary>
    private (string Root, string Outside) Rooms()
    {
        var root = temp.CreateDirectory("root");
        var outside = temp.CreateDirectory("outside");
        File.CreateSymbolicLink(Path.Combine(root, "link"), outside);
        return (root, outside);
    }

    private static void Write(string root, string relative, string content, UnixFileMode mode, DateTime modified)
    {
        var path = Path.Combine(root, relative);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        File.SetLastWriteTimeUtc(path, modified);
    }

    /// <summary>Plans the paths as the monitor does (each as the workspace has it now) and applies them through the agent: all must succeed.</summary>
    private static async Task ApplyAsync(OpenAgent agent, string source, IReadOnlyList<PendingMove> moves, IEnumerable<string> paths)
    {
        var plan = new AgentPlan(recursiveRemove: true);
        using (var workspace = ConfinedRoot.Open(source))
        {
            plan.Add(workspace, moves, paths.Select(p => (p, PendingKind.Path)).ToList());
        }

        var replies = await agent.Channel.ExchangeAsync(plan.Requests, CancellationToken.None);
        var (left, failures) = plan.LeftFor(replies);
        Assert.Empty(failures);
        Assert.Empty(left);
    }
}
