using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Drift: mirrored paths changed on a remote by something other than wsync (an edit, a deletion, a new file
/// or directory), during a burst and after it, over ssh and into a local directory. By default each is put
/// back, so the remote ends exact; with -DriftAction Report it is only counted. Excluded paths on the remote
/// stay the remote's own.
/// </summary>
public sealed class DriftTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    [Fact]
    public async Task Edits_deletions_and_new_entries_made_in_an_ssh_remote_during_and_after_a_burst_are_put_back_and_shown()
    {
        await using var setup = await MirrorSetup.StartAsync("dr");
        var workspace = setup.Temp.CreateDirectory("web");
        for (var i = 0; i < 20; i++)
        {
            WriteFile(workspace, $"src/file-{i}.txt", $"workspace {i}");
        }

        var remote = setup.Temp.Combine("remote-web");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, remote, "remote");

        // During a burst (a new tree, which rsync carries, and edits the agent carries), the remote is changed by hand.
        var burst = Task.Run(() =>
        {
            for (var i = 0; i < 300; i++)
            {
                WriteFile(workspace, $"burst/{i % 10}/{i}.txt", $"burst {i}");
                if (i % 30 == 0)
                {
                    WriteFile(workspace, $"src/file-{10 + (i / 30)}.txt", $"edited {i}");
                }
            }
        });
        ChangeRemote(remote, "during");
        await burst;
        await setup.WaitAsync("web");
        await ExactAsync(workspace, remote);

        var before = (await setup.RemoteAsync("web", "remote")).DriftCount;
        Assert.True(before > 0, "the changes made during the burst were not counted as drift");
        ChangeRemote(remote, "after");
        await ExactAsync(workspace, remote);
        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "remote")).DriftCount >= before + 4, MirrorSetup.Deadline, "the drift after the burst to be counted");
        var shown = await setup.RemoteAsync("web", "remote");
        Assert.Equal(DriftAction.Undo, shown.DriftAction);
        Assert.NotNull(shown.LastDrift);
        Assert.Equal(RemoteTransport.Agent, shown.Transport);

        // New entries are made aside, handed to the remote account and moved in whole: wsync may put them back
        // (remove them) at once, before anything could be done to them in place.
        void ChangeRemote(string root, string round)
        {
            File.WriteAllText(Path.Combine(root, round == "during" ? "src/file-1.txt" : "src/file-3.txt"), $"edited on the remote {round}");
            File.Delete(Path.Combine(root, round == "during" ? "src/file-2.txt" : "src/file-4.txt"));
            var aside = setup.Temp.CreateDirectory($"aside-{round}");
            WriteFile(aside, "stray.txt", "made on the remote");
            WriteFile(aside, "stray-dir/inner/file", "made on the remote");
            ssh.Server.Own(aside);
            File.Move(Path.Combine(aside, "stray.txt"), Path.Combine(root, $"stray-{round}.txt"));
            Directory.Move(Path.Combine(aside, "stray-dir"), Path.Combine(root, $"stray-dir-{round}"));
        }
    }

    [Fact]
    public async Task With_DriftAction_Report_a_change_made_in_the_remote_is_counted_and_kept_and_excluded_paths_are_never_drift()
    {
        await using var setup = await MirrorSetup.StartAsync("dp");
        var workspace = setup.Temp.CreateDirectory("web");
        WriteFile(workspace, "a.txt", "workspace");
        WriteFile(workspace, "b.txt", "workspace");
        var reporting = setup.Temp.CreateDirectory("reporting");
        var undoing = setup.Temp.CreateDirectory("undoing");
        await setup.AddWorkspaceAsync(workspace, exclude: ["*.log"]);
        await setup.ConnectLocalAsync("web", reporting, driftAction: DriftAction.Report);
        await setup.ConnectLocalAsync("web", undoing);

        // First an excluded file (the remote's own), then a mirrored one: reports are judged in order.
        foreach (var mirror in new[] { reporting, undoing })
        {
            WriteFile(mirror, "build.log", "the remote's own");
            WriteFile(mirror, "a.txt", "edited on the remote");
        }

        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "reporting")).DriftCount == 1, MirrorSetup.Deadline, "the drift to be counted");
        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "undoing")).DriftCount >= 1, MirrorSetup.Deadline, "the drift to be counted");
        await ExactAsync(workspace, undoing);
        var reported = await setup.RemoteAsync("web", "reporting");
        var undone = await setup.RemoteAsync("web", "undoing");
        Assert.Equal(("a.txt", DriftAction.Report, 1L), (reported.LastDrift, reported.DriftAction, reported.DriftCount));
        Assert.Equal("a.txt", undone.LastDrift);
        Assert.InRange(undone.DriftCount, 1, 2); // a write seen in two steps may count twice when it is put back; a reported one, once

        // A later batch leaves the reported change (and the excluded file) where they are.
        WriteFile(workspace, "b.txt", "edited in the workspace");
        await setup.WaitAsync("web");
        Assert.Equal("edited on the remote", File.ReadAllText(Path.Combine(reporting, "a.txt")));
        Assert.Equal("edited in the workspace", File.ReadAllText(Path.Combine(reporting, "b.txt")));
        Assert.True(File.Exists(Path.Combine(reporting, "build.log")) && File.Exists(Path.Combine(undoing, "build.log")));
    }

    private static void WriteFile(string root, string relative, string content)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    /// <summary>Polls until the remote equals the workspace (excluded *.log files aside): drift is undone as it is seen, not at a Wait.</summary>
    private static Task ExactAsync(string workspace, string remote) =>
        Poll.UntilAsync(() => Task.FromResult(TreeSnapshot.Compare(workspace, remote, path => path.EndsWith(".log", StringComparison.Ordinal)).Count == 0),
            MirrorSetup.Deadline, $"{remote} to equal the workspace again");
}
