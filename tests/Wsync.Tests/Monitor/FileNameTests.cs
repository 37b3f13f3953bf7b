using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// A Linux file name is bytes, not always UTF-8 (old Latin-1 trees, archives, tools that write raw bytes).
/// Every such name must reach every remote through the incremental path, as it does through a full
/// reconcile: a file, a directory, what is later created inside that directory, renames and deletions.
/// </summary>
public abstract class FileNameTests(SshFixture ssh, RemoteTransport transport) : IClassFixture<SshFixture>
{
    /// <summary>"café" in Latin-1: the byte 0xE9 alone is not UTF-8.</summary>
    private static readonly string Latin1 = RawFiles.FromBytes([(byte)'c', (byte)'a', (byte)'f', 0xE9]);

    /// <summary>A name with a byte that can never start UTF-8 (0xFF) and a truncated sequence (0xC3 alone).</summary>
    private static readonly string Broken = RawFiles.FromBytes([(byte)'d', 0xFF, (byte)'-', 0xC3]);

    [Fact]
    public async Task Names_that_are_not_UTF8_reach_every_remote_as_they_change()
    {
        await using var setup = await MirrorSetup.StartAsync("fn", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var local = setup.Temp.CreateDirectory("local");
        var overSsh = setup.Temp.CreateDirectory("over-ssh");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", local);
        await setup.ConnectSshAsync("web", ssh.Server, overSsh, "ssh");

        // Created while watched: a file, a directory, and later files inside that directory.
        RawFiles.WriteAll(Path.Combine(workspace, Latin1 + ".txt"), "latin-1"u8.ToArray());
        RawFiles.MakeDirectory(Path.Combine(workspace, Broken));
        await WaitAndCompareAsync(setup, workspace, local, overSsh);
        RawFiles.WriteAll(Path.Combine(workspace, Broken, "inside"), "later"u8.ToArray());
        RawFiles.MakeDirectory(Path.Combine(workspace, Broken, Latin1));
        RawFiles.WriteAll(Path.Combine(workspace, Broken, Latin1, Broken), "deeper"u8.ToArray());
        await WaitAndCompareAsync(setup, workspace, local, overSsh);

        // Edited, renamed (file and directory, to and from such names), deleted.
        RawFiles.WriteAll(Path.Combine(workspace, Latin1 + ".txt"), "edited"u8.ToArray());
        RawFiles.Rename(Path.Combine(workspace, Broken, "inside"), Path.Combine(workspace, Broken, Latin1 + "-renamed"));
        RawFiles.Rename(Path.Combine(workspace, Broken), Path.Combine(workspace, Latin1 + "-dir"));
        await WaitAndCompareAsync(setup, workspace, local, overSsh);
        RawFiles.Delete(Path.Combine(workspace, Latin1 + ".txt"));
        await WaitAndCompareAsync(setup, workspace, local, overSsh);
        Assert.Contains(RawFiles.List(local), name => name == Latin1 + "-dir");
    }

    [Fact]
    public async Task A_new_tree_holding_names_that_are_not_UTF8_arrives_whole()
    {
        // A directory made with its contents at once goes as a tree (rsync recursion), not path by path.
        await using var setup = await MirrorSetup.StartAsync("ft", transport: transport);
        var workspace = setup.Temp.CreateDirectory("web");
        var local = setup.Temp.CreateDirectory("local");
        var overSsh = setup.Temp.CreateDirectory("over-ssh");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", local);
        await setup.ConnectSshAsync("web", ssh.Server, overSsh, "ssh");

        var staging = setup.Temp.CreateDirectory("staging");
        RawFiles.MakeDirectory(Path.Combine(staging, Broken));
        RawFiles.WriteAll(Path.Combine(staging, Broken, Latin1), "in a tree"u8.ToArray());
        RawFiles.Rename(staging, Path.Combine(workspace, "moved-in"));
        await WaitAndCompareAsync(setup, workspace, local, overSsh);
        Assert.True(RawFiles.Status(Path.Combine(overSsh, "moved-in", Broken, Latin1)) is { Kind: 'f' });
    }

    private static async Task WaitAndCompareAsync(MirrorSetup setup, string workspace, string local, string overSsh)
    {
        await setup.WaitAsync("web");
        MirrorSetup.AssertMirrored(workspace, local);
        MirrorSetup.AssertMirrored(workspace, overSsh);
    }
}

public sealed class FileNameTestsOverAgent(SshFixture ssh) : FileNameTests(ssh, RemoteTransport.Agent);

public sealed class FileNameTestsOverRsync(SshFixture ssh) : FileNameTests(ssh, RemoteTransport.Rsync);
