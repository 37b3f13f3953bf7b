using System.Collections.Concurrent;
using System.Diagnostics;
using Wsync.Monitor.Sync;
using Wsync.Platform;
using Wsync.TestSupport;
using Wsync.Transfer;

namespace Wsync.Tests.Transfer;

/// <summary>
/// The real wsync-agent watching its root: what others change there is reported with what is there now; its
/// own writes never are; what changes while rsync runs is held back until the monitor says rsync ended.
/// Replies come after the reports of the requests they answer, so "nothing reported" is checked right after
/// a reply, without waiting.
/// </summary>
public sealed class DriftWatchTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TempDirectory temp = new("drift");
    private readonly ConcurrentQueue<DriftEntry> reports = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Changes_made_by_others_are_reported_with_what_is_there_now_and_the_agents_own_writes_never_are()
    {
        var root = temp.CreateDirectory("mirror");
        Directory.CreateDirectory(Path.Combine(root, "tree/sub"));
        File.WriteAllText(Path.Combine(root, "tree/gone"), "soon deleted");
        await using var agent = await OpenAgent.OpenAsync(root, reports.Enqueue);

        // Every kind of request the monitor sends, one batch, all of them the agent's own.
        var requests = new FrameWriter()
            .Begin(FrameKind.WriteFile).Path("own.txt").U32(0x1A4).I64(1_600_000_000).U32(5).Content("mine"u8).End()
            .Begin(FrameKind.MakeDirectory).Path("own-dir").U32(0x1ED).I64(1_600_000_000).U32(0).End()
            .Begin(FrameKind.Symlink).Path("own-link").Path("own.txt").I64(1_600_000_000).U32(0).End()
            .Begin(FrameKind.WriteFile).Path("own-dir/inner").U32(0x1A4).I64(1_600_000_000).U32(0).Content("in"u8).End()
            .Begin(FrameKind.Rename).Path("own-dir").Path("tree/sub/moved-dir").End()
            .Begin(FrameKind.SetAttributes).Path("tree").U8(1).U32(0x1C0).I64(1_500_000_000).U32(0).End()
            .Begin(FrameKind.Remove).Path("tree/sub/moved-dir").U8(1).End();
        Assert.All(await agent.Channel.ExchangeAsync(requests, CancellationToken.None), reply => Assert.True(reply.Done, reply.Message));
        Assert.Empty(reports);

        // Others: an edit below an existing directory, a deletion, a new directory and a file made in it.
        File.WriteAllText(Path.Combine(root, "tree/sub/theirs.txt"), "theirs");
        File.Delete(Path.Combine(root, "tree/gone"));
        Directory.CreateDirectory(Path.Combine(root, "new"));
        await ReportedAsync("new", FileKind.Directory);
        File.WriteAllText(Path.Combine(root, "new/inside"), "watched since it was made");

        var theirs = await ReportedAsync("tree/sub/theirs.txt", FileKind.File);
        var status = Posix.Status(Path.Combine(root, "tree/sub/theirs.txt"));
        Assert.Equal((status.Size, status.Mode, status.ModifiedSeconds, status.ModifiedNanoseconds), (theirs.Size, theirs.Mode, theirs.Seconds, theirs.Nanoseconds));
        await ReportedAsync("tree/gone", FileKind.Missing);
        await ReportedAsync("new/inside", FileKind.File);
        Assert.DoesNotContain(reports, r => r.Path.StartsWith("own", StringComparison.Ordinal) || r.Path.Contains(ConfinedRoot.TemporaryPrefix) || r.Path.Contains("moved-dir"));
    }

    [Fact]
    public async Task What_changes_while_rsync_runs_is_reported_once_it_ends_for_the_monitor_to_compare()
    {
        var root = temp.CreateDirectory("mirror");
        var source = temp.CreateDirectory("source");
        File.WriteAllText(Path.Combine(source, "by-rsync.txt"), "rsync's");
        await using var agent = await OpenAgent.OpenAsync(root, reports.Enqueue);

        await ExchangeAsync(agent, new FrameWriter().Begin(FrameKind.RsyncRunning).U8(1).End());
        RunRsync(source, root);
        File.WriteAllText(Path.Combine(root, "by-someone.txt"), "while rsync ran");
        await ExchangeAsync(agent, new FrameWriter().Begin(FrameKind.Barrier).End());
        Assert.Empty(reports);

        await ExchangeAsync(agent, new FrameWriter().Begin(FrameKind.RsyncRunning).U8(0).End());
        var byRsync = Assert.Single(reports, r => r.Path == "by-rsync.txt");
        var expected = Posix.Status(Path.Combine(source, "by-rsync.txt"));
        Assert.Equal((FileKind.File, expected.Size, expected.ModifiedSeconds, expected.ModifiedNanoseconds), (byRsync.Kind, byRsync.Size, byRsync.Seconds, byRsync.Nanoseconds));
        Assert.Contains(reports, r => r.Path == "by-someone.txt" && r.Kind == FileKind.File);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../outside")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a/..")]
    public void A_drift_report_naming_a_path_outside_the_root_is_refused(string path) => Assert.False(DriftCheck.IsUnderRoot(path));

    private async Task<DriftEntry> ReportedAsync(string path, FileKind kind)
    {
        await Poll.UntilAsync(() => Task.FromResult(reports.Any(r => r.Path == path && r.Kind == kind)), Deadline, $"a drift report of {path} ({kind})");
        return reports.Last(r => r.Path == path && r.Kind == kind);
    }

    private static async Task ExchangeAsync(OpenAgent agent, FrameWriter request) =>
        Assert.True((await agent.Channel.ExchangeAsync(request, CancellationToken.None)).Single().Done);

    private static void RunRsync(string source, string destination)
    {
        using var rsync = Process.Start("rsync", ["-rlpt", "--modify-window=-1", source + "/", destination])!;
        rsync.WaitForExit();
        Assert.Equal(0, rsync.ExitCode);
    }
}
