using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// The safety stop: a workspace root deleted, replaced or emptied halts the workspace instead of deleting
/// every remote's files; Resume-WsyncWorkspace after the user fixed it (or meant it) converges.
/// </summary>
public sealed class SafetyStopTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    [Fact]
    public async Task Deleting_the_root_halts_with_every_remote_untouched_and_resume_after_restoring_converges()
    {
        await using var setup = await MirrorSetup.StartAsync("sd");
        var workspace = setup.Temp.CreateDirectory("web");
        Populate(workspace, "v1");
        var overSsh = setup.Temp.Combine("over ssh's mirror"); // a space and a quote: the remote listing quotes its path
        var local = setup.Temp.CreateDirectory("local");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, overSsh, "ssh");
        await setup.ConnectLocalAsync("web", local, "local");
        var before = TreeSnapshot.Capture(workspace);

        Processes.RunChecked("rm", ["-rf", "--", workspace]);

        var halted = await setup.HaltedAsync("web");
        Assert.Contains(workspace, halted.StateReason);
        Assert.Contains("Resume-WsyncWorkspace", halted.StateReason);
        AssertUnchanged(before, overSsh);
        AssertUnchanged(before, local);

        Directory.CreateDirectory(workspace);
        Populate(workspace, "v2");
        File.WriteAllText(Path.Combine(workspace, "restored-only"), "new after the restore");
        await setup.Client.Call(setup.Api.ResumeWorkspaceAsync("web", force: false, CancellationToken.None));
        var resumed = await setup.WaitAsync("web");

        Assert.Equal(WorkspaceState.Watching, resumed.State);
        MirrorSetup.AssertMirrored(workspace, overSsh);
        MirrorSetup.AssertMirrored(workspace, local);
    }

    [Theory]
    [InlineData("rm -rf root; mkdir root")]
    [InlineData("mv root root.old; mkdir root")]
    public async Task Replacing_the_root_with_an_empty_directory_halts_and_resume_after_restoring_converges(string replacement)
    {
        await using var setup = await MirrorSetup.StartAsync("sr");
        var workspace = setup.Temp.CreateDirectory("web");
        Populate(workspace, "v1");
        var local = setup.Temp.CreateDirectory("local");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", local, "local");
        var before = TreeSnapshot.Capture(workspace);

        var moved = workspace + ".old";
        if (replacement.StartsWith("rm", StringComparison.Ordinal))
        {
            Processes.RunChecked("rm", ["-rf", "--", workspace]);
        }
        else
        {
            Processes.RunChecked("mv", ["--", workspace, moved]);
        }

        Directory.CreateDirectory(workspace);

        var halted = await setup.HaltedAsync("web");
        Assert.Contains(workspace, halted.StateReason);
        AssertUnchanged(before, local);

        if (Directory.Exists(moved))
        {
            Directory.Delete(workspace);
            Processes.RunChecked("mv", ["--", moved, workspace]);
        }
        else
        {
            Populate(workspace, "v1");
        }

        File.Delete(Path.Combine(workspace, "d1", "f1"));
        await setup.Client.Call(setup.Api.ResumeWorkspaceAsync("web", force: false, CancellationToken.None));
        var resumed = await setup.WaitAsync("web");

        Assert.Equal(WorkspaceState.Watching, resumed.State);
        MirrorSetup.AssertMirrored(workspace, local);
    }

    [Fact]
    public async Task An_emptied_root_halts_a_running_and_a_restarted_monitor_and_resume_mirrors_the_emptiness()
    {
        await using var setup = await MirrorSetup.StartAsync("se");
        var workspace = setup.Temp.CreateDirectory("web");
        Populate(workspace, "v1");
        var overSsh = setup.Temp.Combine("over ssh's mirror");
        var local = setup.Temp.CreateDirectory("local");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, overSsh, "ssh");
        await setup.ConnectLocalAsync("web", local, "local");
        var before = TreeSnapshot.Capture(workspace);

        // Emptied while watched: the deletions reach the remotes' pending sets, and the batch is refused.
        Processes.RunChecked("rm", ["-rf", "--", .. Directory.EnumerateFileSystemEntries(workspace)]);

        var halted = await setup.HaltedAsync("web");
        Assert.Contains($"The workspace root {workspace} is empty", halted.StateReason);
        Assert.True(halted.StateReason!.Contains(overSsh, StringComparison.Ordinal) || halted.StateReason.Contains(local, StringComparison.Ordinal),
            $"the reason names the remote's path: {halted.StateReason}");
        AssertUnchanged(before, overSsh);
        AssertUnchanged(before, local);

        // A monitor started afresh on the still empty root: its first full reconcile is refused too. At a start,
        // an empty root is most likely a disk not mounted yet: the workspace waits for entries (and would mirror
        // them by itself), but an empty root is still never mirrored without Resume -Force.
        await setup.RestartDaemonAsync(() => { });
        var restarted = await setup.InStateAsync("web", WorkspaceState.Waiting);
        Assert.Contains("is empty", restarted.StateReason);
        AssertUnchanged(before, overSsh);
        AssertUnchanged(before, local);

        // Resuming an empty root would empty every remote: refused unless forced, and nothing changes.
        var refused = await Assert.ThrowsAsync<WsyncException>(() => setup.Client.Call(setup.Api.ResumeWorkspaceAsync("web", force: false, CancellationToken.None)));
        Assert.Equal(ErrorIds.ResumeWouldEmptyRemotes, refused.ErrorId);
        Assert.Equal(WsyncErrorCategory.InvalidOperation, refused.Category);
        Assert.Equal("web", refused.Target);
        Assert.Equal(WorkspaceState.Waiting, (await setup.WorkspaceAsync("web")).State);
        AssertUnchanged(before, overSsh);
        AssertUnchanged(before, local);

        // Forced, Resume means "I meant it": the empty root is mirrored, once.
        await setup.Client.Call(setup.Api.ResumeWorkspaceAsync("web", force: true, CancellationToken.None));
        var resumed = await setup.WaitAsync("web");

        Assert.Equal(WorkspaceState.Watching, resumed.State);
        Assert.Empty(Directory.EnumerateFileSystemEntries(overSsh));
        Assert.Empty(Directory.EnumerateFileSystemEntries(local));
        File.WriteAllText(Path.Combine(workspace, "after"), "mirrored as usual");
        await setup.WaitAsync("web");
        MirrorSetup.AssertMirrored(workspace, overSsh);
        MirrorSetup.AssertMirrored(workspace, local);
    }

    /// <summary>A small tree: two directories of files, an executable, a symlink.</summary>
    private static void Populate(string root, string version)
    {
        for (var d = 0; d < 3; d++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(root, $"d{d}")).FullName;
            for (var f = 0; f < 20; f++)
            {
                File.WriteAllText(Path.Combine(directory, $"f{f}"), $"{version} {d}/{f}");
            }
        }

        File.WriteAllText(Path.Combine(root, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(root, "run.sh"), (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(root, "link"), "d0/f0");
    }

    private static void AssertUnchanged(TreeSnapshot before, string remote)
    {
        var differences = TreeSnapshot.Compare(before, TreeSnapshot.Capture(remote));
        Assert.True(differences.Count == 0, $"{remote} changed although the workspace halted:\n" + string.Join('\n', differences.Take(30)));
    }
}
