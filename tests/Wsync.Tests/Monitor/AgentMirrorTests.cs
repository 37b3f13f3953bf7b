using Wsync.Platform;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Local-directory remotes through the agent transport (the applier inside the monitor), end to end with a
/// real daemon: every kind of change arrives exactly as rsync would leave it, the remote says what carries
/// its changes and why, and when the agent cannot serve a root, rsync carries everything and nothing is lost.
/// </summary>
public sealed class AgentMirrorTests
{
    [Fact]
    public async Task Every_kind_of_change_arrives_through_the_agent_exactly_as_a_full_reconcile_would_leave_it()
    {
        await using var setup = await MirrorSetup.StartAsync("am");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        Directory.CreateDirectory(Path.Combine(workspace, "src"));
        File.WriteAllText(Path.Combine(workspace, "src/main.c"), "int main;");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", mirror);
        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "mirror")).Transport == RemoteTransport.Agent, MirrorSetup.Deadline, "the agent to carry the remote's changes");

        await EveryKindOfChangeAsync(setup, workspace, mirror);
        Assert.Equal(RemoteTransport.Agent, (await setup.RemoteAsync("web", "mirror")).Transport);
    }

    [Fact]
    public async Task A_remote_connected_with_Transport_Rsync_never_runs_the_agent_and_says_so()
    {
        await using var setup = await MirrorSetup.StartAsync("ar");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", mirror, transport: RemoteTransport.Rsync);

        // The agent locks the root it serves: a lock taken here would fail if one ran.
        using var root = ConfinedRoot.Open(mirror);
        File.WriteAllText(Path.Combine(workspace, "a"), "by rsync");
        await setup.WaitAsync("web");
        Assert.True(root.TryLock());

        var remote = await setup.RemoteAsync("web", "mirror");
        Assert.Equal(RemoteTransport.Rsync, remote.Transport);
        Assert.Contains("-Transport Rsync", remote.TransportReason);
        AssertExact(workspace, mirror);
    }

    [Fact]
    public async Task A_root_another_agent_holds_is_mirrored_by_rsync_with_the_reason_shown_and_the_agent_takes_over_once_it_is_free()
    {
        await using var setup = await MirrorSetup.StartAsync("al");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.AddWorkspaceAsync(workspace);
        var holder = ConfinedRoot.Open(mirror);
        Assert.True(holder.TryLock());
        await setup.ConnectLocalAsync("web", mirror, agentStarts: false);

        var edits = 0;
        await Poll.UntilAsync(async () =>
        {
            File.WriteAllText(Path.Combine(workspace, $"edit-{edits++}"), "while held");
            await setup.WaitAsync("web");
            return (await setup.RemoteAsync("web", "mirror")).TransportReason?.Contains("Another wsync agent") == true;
        }, MirrorSetup.Deadline, "the remote to say why the agent is not running");
        AssertExact(workspace, mirror);

        holder.Dispose();
        await Poll.UntilAsync(async () =>
        {
            File.WriteAllText(Path.Combine(workspace, $"edit-{edits++}"), "after");
            await setup.WaitAsync("web");
            return (await setup.RemoteAsync("web", "mirror")).Transport == RemoteTransport.Agent;
        }, MirrorSetup.Deadline, "the agent to start once the root is free");
        File.WriteAllText(Path.Combine(workspace, "last"), "by the agent");
        await setup.WaitAsync("web");
        AssertExact(workspace, mirror);
    }

    /// <summary>
    /// Every kind of change in two rounds (writes, a mode, a link, a file over the inline limit, a new tree; then
    /// renames of a file and a tree, a link turned directory, a name that is not UTF-8, an append), each round
    /// checked exact. The workspace "web" starts with src/main.c.
    /// </summary>
    internal static async Task EveryKindOfChangeAsync(MirrorSetup setup, string workspace, string mirror)
    {
        File.WriteAllText(Path.Combine(workspace, "src/main.c"), "int main() { return 0; }");
        File.WriteAllText(Path.Combine(workspace, "notes.md"), "# notes");
        File.SetUnixFileMode(Path.Combine(workspace, "notes.md"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.CreateSymbolicLink(Path.Combine(workspace, "latest"), "src/main.c");
        File.WriteAllBytes(Path.Combine(workspace, "big.bin"), new byte[3 * 256 * 1024]); // over the inline limit: rsync's
        Directory.CreateDirectory(Path.Combine(workspace, "new/tree"));
        File.WriteAllText(Path.Combine(workspace, "new/tree/leaf"), "leaf");
        await setup.WaitAsync("web");
        AssertExact(workspace, mirror);

        File.Move(Path.Combine(workspace, "notes.md"), Path.Combine(workspace, "src/notes.md"));
        Directory.Move(Path.Combine(workspace, "new"), Path.Combine(workspace, "old"));
        File.Delete(Path.Combine(workspace, "latest"));
        Directory.CreateDirectory(Path.Combine(workspace, "latest"));
        RawFiles.WriteAll(workspace + "/" + RawFiles.FromBytes([.. "r\xe9sum"u8, 0xE9]), "not UTF-8"u8.ToArray());
        File.AppendAllText(Path.Combine(workspace, "src/main.c"), "\n// more");
        await setup.WaitAsync("web");
        AssertExact(workspace, mirror);
    }

    /// <summary>Equal file for file, and nothing a full reconcile would still change (times of directories and links included).</summary>
    internal static void AssertExact(string workspace, string mirror)
    {
        MirrorSetup.AssertMirrored(workspace, mirror);
        Assert.Empty(RsyncCheck.Differences(workspace, mirror));
    }
}
