using System.Security.Cryptography;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// The monitor end to end: a real daemon, real rsync, a real sshd on 127.0.0.1, real files; every test once
/// with the agent carrying small changes (the default) and once with -Transport Rsync.
/// </summary>
public abstract class MirrorTests(SshFixture ssh, RemoteTransport transport) : IClassFixture<SshFixture>
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    [Fact]
    public async Task Attaching_to_a_workspace_that_holds_files_makes_each_remote_an_exact_mirror()
    {
        await using var setup = await MirrorSetup.StartAsync("mi", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        Directory.CreateDirectory(Path.Combine(workspace, "src/deep/er"));
        File.WriteAllText(Path.Combine(workspace, "src/deep/er/main.c"), "int main;");
        File.WriteAllBytes(Path.Combine(workspace, "empty"), []);
        File.WriteAllText(Path.Combine(workspace, "run.sh"), "#!/bin/sh");
        File.SetUnixFileMode(Path.Combine(workspace, "run.sh"), Executable);
        File.CreateSymbolicLink(Path.Combine(workspace, "dangling"), "../nowhere");
        File.CreateSymbolicLink(Path.Combine(workspace, "to-src"), "src");
        var stale = setup.Temp.CreateDirectory("over-ssh", "stale-dir");
        File.WriteAllText(Path.Combine(stale, "old"), "removed by the initial sync");
        await setup.AddWorkspaceAsync(workspace);

        // The stale directory would be deleted: refused (the ssh probe lists the top level) until forced.
        var refused = await Assert.ThrowsAsync<WsyncException>(() => setup.ConnectSshAsync("web", ssh.Server, setup.Temp.Combine("over-ssh"), "ssh"));
        Assert.Equal(ErrorIds.DestinationHoldsOtherFiles, refused.ErrorId);
        Assert.Contains("'stale-dir'", refused.Message);
        Assert.True(File.Exists(Path.Combine(stale, "old")));
        Assert.Empty((await setup.Client.Call(setup.Api.GetRemotesAsync("web", CancellationToken.None))));
        var overSsh = await setup.ConnectSshAsync("web", ssh.Server, setup.Temp.Combine("over-ssh"), "ssh", force: true);
        var local = await setup.ConnectLocalAsync("web", setup.Temp.CreateDirectory("local"));

        Assert.Equal(RemoteState.InSync, overSsh.State);
        Assert.Equal(RemoteState.InSync, local.State);
        Assert.NotNull(overSsh.LastSyncTime);
        MirrorSetup.AssertMirrored(workspace, setup.Temp.Combine("over-ssh"));
        MirrorSetup.AssertMirrored(workspace, setup.Temp.Combine("local"));
    }

    [Fact]
    public async Task A_rewrite_with_the_same_size_and_timestamp_still_reaches_the_remote()
    {
        // rsync's quick check (size + mtime) cannot see such a rewrite: cp -p, a restore from backup, or two
        // writes within one tick of the file system's clock. Each is sent by content.
        await using var setup = await MirrorSetup.StartAsync("mq", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        var file = Path.Combine(workspace, "config.ini");
        var stamp = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.WriteAllText(file, "mode=AAAA");
        File.SetLastWriteTimeUtc(file, stamp);
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", mirror);

        for (var round = 0; round < 3; round++)
        {
            var content = $"mode={(char)('B' + round)}{(char)('B' + round)}{(char)('B' + round)}{(char)('B' + round)}";
            File.WriteAllText(file, content);
            File.SetLastWriteTimeUtc(file, stamp);
            await setup.WaitAsync("web");

            Assert.Equal(content, File.ReadAllText(Path.Combine(mirror, "config.ini")));
        }

        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task A_detached_remote_gets_no_later_change_while_the_others_do()
    {
        await using var setup = await MirrorSetup.StartAsync("md", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", setup.Temp.CreateDirectory("kept"));
        await setup.ConnectSshAsync("web", ssh.Server, setup.Temp.CreateDirectory("detached"), "detached");
        File.WriteAllText(Path.Combine(workspace, "before"), "1");
        await setup.WaitAsync("web");

        await setup.Client.Call(setup.Api.DisconnectRemoteAsync("web", "detached", CancellationToken.None));
        File.WriteAllText(Path.Combine(workspace, "after"), "2");
        await setup.WaitAsync("web");

        Assert.True(File.Exists(setup.Temp.Combine("kept", "after")));
        Assert.True(File.Exists(setup.Temp.Combine("detached", "before")));
        Assert.False(File.Exists(setup.Temp.Combine("detached", "after")));
    }

    [Fact]
    public async Task Excluded_and_gitignored_paths_are_neither_watched_nor_sent_nor_deleted_remotely()
    {
        await using var setup = await MirrorSetup.StartAsync("mx", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        Directory.CreateDirectory(Path.Combine(workspace, "node_modules/pkg/a/b"));
        Directory.CreateDirectory(Path.Combine(workspace, "src/gen"));
        File.WriteAllText(Path.Combine(workspace, ".gitignore"), "*.log\ngen/\n");
        File.WriteAllText(Path.Combine(workspace, "src/app.js"), "app");
        File.WriteAllText(Path.Combine(workspace, "node_modules/pkg/index.js"), "dep");
        var mirror = setup.Temp.CreateDirectory("mirror");
        File.WriteAllText(Path.Combine(mirror, "remote-only.log"), "the remote's own log, excluded: never deleted");
        await setup.AddWorkspaceAsync(workspace, ["node_modules/"], gitIgnore: true);
        await setup.ConnectSshAsync("web", ssh.Server, mirror, force: true); // the remote's own excluded log counts as foreign

        File.WriteAllText(Path.Combine(workspace, "debug.log"), "excluded");
        File.WriteAllText(Path.Combine(workspace, "src/gen/out.js"), "excluded");
        File.WriteAllText(Path.Combine(workspace, "node_modules/pkg/a/b/c.js"), "excluded");
        File.WriteAllText(Path.Combine(workspace, "src/kept.js"), "sent");
        var state = await setup.WaitAsync("web");

        Assert.Equal(2, state.WatchedDirectories); // the root and src
        Assert.True(File.Exists(Path.Combine(mirror, "src/kept.js")));
        Assert.True(File.Exists(Path.Combine(mirror, "remote-only.log")));
        Assert.False(File.Exists(Path.Combine(mirror, "debug.log")));
        Assert.False(Directory.Exists(Path.Combine(mirror, "node_modules")));
        Assert.False(Directory.Exists(Path.Combine(mirror, "src/gen")));
    }

    [Fact]
    public async Task Renaming_a_200_MB_directory_over_ssh_sends_almost_nothing()
    {
        await using var setup = await MirrorSetup.StartAsync("mr", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var big = Directory.CreateDirectory(Path.Combine(workspace, "assets/big")).FullName;
        for (var i = 0; i < 4; i++)
        {
            File.WriteAllBytes(Path.Combine(big, $"blob{i}"), RandomNumberGenerator.GetBytes(50 * 1024 * 1024));
        }

        await setup.AddWorkspaceAsync(workspace);
        var mirror = setup.Temp.Combine("mirror");
        var before = await setup.ConnectSshAsync("web", ssh.Server, mirror, "ssh");
        Assert.True(before.BytesSent > 200_000_000, $"the initial sync sent {before.BytesSent} bytes");

        Directory.Move(big, Path.Combine(workspace, "renamed-big"));
        await setup.WaitAsync("web");

        var after = await setup.RemoteAsync("web", "ssh");
        Assert.InRange(after.BytesSent - before.BytesSent, 0, 1024 * 1024);
        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task A_large_file_and_small_edits_to_the_same_tree_at_once_end_in_their_last_state()
    {
        // The large file is rsync's (its deltas) whatever the transport; the small ones are the agent's when it
        // runs; "flips" crosses the agent's inline limit each round, so one path goes by one and then the other.
        await using var setup = await MirrorSetup.StartAsync("mm", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.Combine("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror);
        var build = Directory.CreateDirectory(Path.Combine(workspace, "build")).FullName;
        var random = new Random(17);
        var artifact = new byte[16 << 20];
        random.NextBytes(artifact);

        for (var round = 0; round < 6; round++)
        {
            artifact[random.Next(artifact.Length)] ^= 0xFF;
            File.WriteAllBytes(Path.Combine(build, "artifact.bin"), artifact);
            for (var edit = 0; edit < 20; edit++)
            {
                File.WriteAllText(Path.Combine(build, $"small-{edit % 7}.txt"), $"round {round}, edit {edit}");
            }

            File.WriteAllBytes(Path.Combine(build, "flips"), RandomNumberGenerator.GetBytes(round % 2 == 0 ? 2 * Wsync.Transfer.AgentProtocol.InlineLimit : 100));
            if (round % 3 == 2)
            {
                File.Delete(Path.Combine(build, "small-3.txt"));
            }

            if (round % 2 == 1)
            {
                await setup.WaitAsync("web"); // some rounds land in batches of their own, some run together
            }
        }

        await setup.WaitAsync("web");
        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task When_a_remote_rename_cannot_be_replayed_rsync_alone_makes_the_remote_right()
    {
        await using var setup = await MirrorSetup.StartAsync("mv", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        Directory.CreateDirectory(Path.Combine(workspace, "dir/sub"));
        File.WriteAllText(Path.Combine(workspace, "dir/sub/file"), "content");
        File.WriteAllText(Path.Combine(workspace, "x"), "x");
        var mirror = setup.Temp.Combine("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror);

        // Behind wsync's back: the remote loses the sources, and gains a non-empty directory where one rename lands.
        File.Delete(Path.Combine(mirror, "x"));
        Directory.CreateDirectory(Path.Combine(mirror, "moved/occupied"));
        ssh.Server.Own(mirror);
        File.Move(Path.Combine(workspace, "x"), Path.Combine(workspace, "y"));
        Directory.Move(Path.Combine(workspace, "dir"), Path.Combine(workspace, "moved"));
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task Changes_made_while_suspended_arrive_after_resume()
    {
        await using var setup = await MirrorSetup.StartAsync("ms", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror);

        var suspended = await setup.Client.Call(setup.Api.SuspendWorkspaceAsync("web", CancellationToken.None));
        File.WriteAllText(Path.Combine(workspace, "while-suspended"), "x");
        Directory.CreateDirectory(Path.Combine(workspace, "dir"));
        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "127.0.0.1")).PendingChanges > 0, MirrorSetup.Deadline, "the change to be pending");

        Assert.Equal(WorkspaceState.Suspended, suspended.State);
        Assert.Equal(RemoteState.Suspended, (await setup.RemoteAsync("web", "127.0.0.1")).State);
        Assert.False(File.Exists(Path.Combine(mirror, "while-suspended")));
        var refused = await Assert.ThrowsAsync<WsyncException>(() => setup.WaitAsync("web"));
        Assert.Equal(ErrorIds.WorkspaceSuspended, refused.ErrorId);

        await setup.Client.Call(setup.Api.ResumeWorkspaceAsync("web", force: false, CancellationToken.None));
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task When_the_rsync_self_test_fails_every_change_goes_out_as_a_full_reconcile()
    {
        // No usable TMPDIR: the self-test cannot make its scratch directory, so it must not trust incremental mode.
        await using var setup = await MirrorSetup.StartAsync("mt", temp => new() { ["TMPDIR"] = temp.Combine("no-such-dir") }, transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", mirror);

        File.WriteAllText(Path.Combine(workspace, "a"), "a");
        Directory.CreateDirectory(Path.Combine(workspace, "d"));
        File.WriteAllText(Path.Combine(mirror, "stray"), "only a full reconcile removes this");
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
        var log = string.Join('\n', Directory.GetFiles(Path.Combine(setup.Daemon.Home, "logs"), "monitor-*").Select(File.ReadAllText));
        Assert.Contains("every change will be sent by a full reconcile", log);
    }

    [Fact]
    public async Task Sync_reconciles_differences_made_behind_the_monitors_back()
    {
        await using var setup = await MirrorSetup.StartAsync("my", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        File.WriteAllText(Path.Combine(workspace, "a"), "a");
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", mirror);
        File.WriteAllText(Path.Combine(mirror, "a"), "tampered on the remote");
        File.WriteAllText(Path.Combine(mirror, "intruder"), "not in the workspace");

        var synced = await setup.Client.Call(setup.Api.SyncWorkspaceAsync("web", null, CancellationToken.None));

        Assert.Equal(RemoteState.InSync, Assert.Single(synced.Remotes).State);
        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task Unpacked_trees_directory_attributes_and_replaced_directories_mirror_exactly()
    {
        // tar sets a directory's mode and times after filling it (sent as the directory alone); a new tree goes
        // as an rsync operand once quiet; a directory becoming a file, and a deep deletion, go as paths.
        await using var setup = await MirrorSetup.StartAsync("mt", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var keep = Path.Combine(workspace, "keep");
        Directory.CreateDirectory(Path.Combine(keep, "inner"));
        File.WriteAllText(Path.Combine(keep, "inner/file"), "kept");
        Directory.CreateDirectory(Path.Combine(workspace, "swap/below"));
        File.WriteAllText(Path.Combine(workspace, "swap/below/x"), "a directory, then a file");
        Directory.CreateDirectory(Path.Combine(workspace, "gone/a/b/c"));
        File.WriteAllText(Path.Combine(workspace, "gone/a/b/c/deep"), "deleted with its tree");
        await setup.AddWorkspaceAsync(workspace);
        var overSsh = setup.Temp.Combine("over-ssh");
        Directory.CreateDirectory(overSsh);
        await setup.ConnectSshAsync("web", ssh.Server, overSsh, "ssh");
        var local = setup.Temp.CreateDirectory("local");
        await setup.ConnectLocalAsync("web", local);

        var source = setup.Temp.CreateDirectory("tar-source");
        for (var i = 0; i < 40; i++)
        {
            var directory = Path.Combine(source, $"d{i % 4}", i % 2 == 0 ? "even" : "odd");
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, i == 7 ? "-rf --delete" : $"f {i}.txt"), new string('x', i * 100));
        }

        File.SetUnixFileMode(Path.Combine(source, "d1"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(source, Executable);
        var tarball = setup.Temp.Combine("tree.tar");
        Processes.RunChecked("tar", ["-cf", tarball, "-C", source, "."]);
        var unpacked = Path.Combine(workspace, "unpacked");
        Directory.CreateDirectory(unpacked);
        Processes.RunChecked("tar", ["-xpf", tarball, "-C", unpacked]);
        File.SetUnixFileMode(keep, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
        Directory.Delete(Path.Combine(workspace, "swap"), recursive: true);
        File.WriteAllText(Path.Combine(workspace, "swap"), "now a file");
        Directory.Delete(Path.Combine(workspace, "gone/a"), recursive: true);
        await setup.WaitAsync("web");

        Assert.Equal(Executable, File.GetUnixFileMode(Path.Combine(overSsh, "unpacked")));
        MirrorSetup.AssertMirrored(workspace, overSsh);
        MirrorSetup.AssertMirrored(workspace, local);
    }

    [Fact]
    public async Task A_small_edit_lands_while_a_large_file_is_on_its_way_and_a_later_change_to_that_file_waits_for_it()
    {
        // The large file goes to the remote's bulk lane, an rsync beside the loop; the edit does not queue behind it.
        await using var setup = await MirrorSetup.StartAsync("mb", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        Directory.CreateDirectory(Path.Combine(workspace, "images"));
        await setup.AddWorkspaceAsync(workspace);
        var remote = setup.Temp.CreateDirectory("over-ssh");
        await setup.ConnectSshAsync("web", ssh.Server, remote, "ssh");

        using (var large = File.Create(Path.Combine(workspace, "images/disk.img")))
        {
            large.SetLength(256L << 20); // sparse here, but every byte crosses ssh: long enough to be in flight
        }

        await Poll.UntilAsync(() => Task.FromResult(Directory.Exists(Path.Combine(remote, "images"))
            && Directory.EnumerateFiles(Path.Combine(remote, "images"), ".disk.img.*").Any()), MirrorSetup.Deadline, "rsync to be writing the large file");
        File.WriteAllText(Path.Combine(workspace, "notes.txt"), "small");
        var remoteNotes = Path.Combine(remote, "notes.txt");
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(remoteNotes) && File.ReadAllText(remoteNotes) == "small"), MirrorSetup.Deadline, "the small edit to land");
        Assert.False(File.Exists(Path.Combine(remote, "images/disk.img")), "the small edit waited for the large file");

        // A change to the file in flight waits for it (order per path): the remote ends with the later content.
        File.WriteAllText(Path.Combine(workspace, "images/disk.img"), "now small");
        await setup.WaitAsync("web");
        Assert.Equal("now small", File.ReadAllText(Path.Combine(remote, "images/disk.img")));
        MirrorSetup.AssertMirrored(workspace, remote);
        Assert.Equal(0, (await setup.RemoteAsync("web", "ssh")).DriftCount); // the lane's writes are rsync's: never drift
    }

    [Fact]
    public async Task A_small_edit_lands_while_a_new_directory_is_still_being_filled()
    {
        // A new tree waits for its writer to pause (as tar fills it); an edit elsewhere goes at once, alone.
        await using var setup = await MirrorSetup.StartAsync("mt", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        await setup.AddWorkspaceAsync(workspace);
        var remote = setup.Temp.CreateDirectory("over-ssh");
        await setup.ConnectSshAsync("web", ssh.Server, remote, "ssh");

        // Past start-up: rsync's flag self-test runs in the loop once the initial sync is done, before the
        // next batch (the second edit waits for it); after that a batch waits for nothing but its own transfer.
        foreach (var warm in new[] { "first", "second" })
        {
            File.WriteAllText(Path.Combine(workspace, "warm-up.txt"), warm);
            await setup.WaitAsync("web");
        }

        var tree = Path.Combine(workspace, "extracted");
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            // Made and filled without a pause as long as the 10 ms a new tree waits for, for up to a minute.
            Directory.CreateDirectory(tree);
            for (var i = 0; !stop.IsCancellationRequested && i < 60_000; i++)
            {
                File.WriteAllText(Path.Combine(tree, $"f{i}"), $"{i}");
                Thread.Sleep(1);
            }
        });
        await Poll.UntilAsync(() => Task.FromResult(Directory.Exists(tree) && Directory.GetFiles(tree).Length >= 10), MirrorSetup.Deadline, "the writer to be filling the directory");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        File.WriteAllText(Path.Combine(workspace, "notes.txt"), "small");
        var remoteNotes = Path.Combine(remote, "notes.txt");
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(remoteNotes) && File.ReadAllText(remoteNotes) == "small"), MirrorSetup.Deadline, "the small edit to land");
        var waited = clock.Elapsed;
        await stop.CancelAsync();
        await writer;

        // Held with the tree, the edit would go when the tree does: once the writer pauses, or at the cap.
        Assert.True(waited < Wsync.Monitor.Sync.PendingChanges.TreeSettleCap / 2, $"the small edit waited {waited.TotalMilliseconds:0} ms, as long as the directory being filled");

        await setup.WaitAsync("web");
        MirrorSetup.AssertMirrored(workspace, remote);
    }

    [Fact]
    public async Task Attaching_an_ssh_remote_logs_in_once_the_probe_and_the_mirroring_share_one_connection()
    {
        await using var setup = await MirrorSetup.StartAsync("m1", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        File.WriteAllText(Path.Combine(workspace, "a"), "a");
        await setup.AddWorkspaceAsync(workspace);
        var before = ssh.Server.AcceptedLogins;

        await setup.ConnectSshAsync("web", ssh.Server, setup.Temp.CreateDirectory("over-ssh"), "ssh");
        File.WriteAllText(Path.Combine(workspace, "b"), "after the initial sync");
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, setup.Temp.Combine("over-ssh"));
        Assert.Equal(1, ssh.Server.AcceptedLogins - before);
    }
}

public sealed class MirrorTestsOverAgent(SshFixture ssh) : MirrorTests(ssh, RemoteTransport.Agent);

public sealed class MirrorTestsOverRsync(SshFixture ssh) : MirrorTests(ssh, RemoteTransport.Rsync);
