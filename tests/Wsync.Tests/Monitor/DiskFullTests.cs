using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>A remote whose disk fills up: Retrying with the reason, and it converges once there is room.</summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task A_full_remote_disk_is_retried_with_the_reason_and_converges_once_there_is_room()
    {
        if (!LoginAccount.IsRoot)
        {
            return; // a small disk of its own is a tmpfs mount, which needs root
        }

        var setup = await MirrorSetup.StartAsync("df");
        var workspace = setup.Temp.CreateDirectory("web");
        File.WriteAllText(Path.Combine(workspace, "small.txt"), "fits");
        var mirror = setup.Temp.CreateDirectory("small disk");
        Processes.RunChecked("mount", ["-t", "tmpfs", "-o", "size=1m", "wsync-test-full", mirror]);
        try
        {
            await setup.AddWorkspaceAsync(workspace);
            await setup.ConnectLocalAsync("web", mirror, "disk");

            var large = new byte[4 << 20];
            Random.Shared.NextBytes(large);
            File.WriteAllBytes(Path.Combine(workspace, "large.bin"), large);
            Remote? remote = null;
            await Poll.UntilAsync(async () => (remote = await setup.RemoteAsync("web", "disk")).State == RemoteState.Retrying,
                MirrorSetup.Deadline, "the remote to report Retrying on a full disk");
            Assert.Contains("No space left on device", remote!.LastError, StringComparison.Ordinal);

            // Room again: no one has to tell wsync; the next retry (backoff at most 30 s) sends it.
            Processes.RunChecked("mount", ["-o", "remount,size=16m", mirror]);
            await setup.WaitAsync("web", TimeSpan.FromSeconds(60));
            MirrorSetup.AssertMirrored(workspace, mirror);
            Assert.Equal(RemoteState.InSync, (await setup.RemoteAsync("web", "disk")).State);
        }
        finally
        {
            // Lazily: a retrying rsync may still hold it. Before the temp tree goes, which holds the mount point.
            Processes.Run("umount", ["--lazy", mirror]);
            await setup.DisposeAsync();
        }
    }
}
