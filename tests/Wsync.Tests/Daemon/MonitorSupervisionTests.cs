using Wsync.TestSupport;
using Wsync.Tests.Monitor;

namespace Wsync.Tests.Daemon;

/// <summary>
/// The daemon's heartbeat: a monitor that stops answering is killed and replaced, and mirroring goes on.
/// A monitor that dies leaves no ssh connection behind.
/// </summary>
public sealed class MonitorSupervisionTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    [Fact]
    public async Task A_frozen_monitor_is_killed_and_replaced_and_mirroring_resumes()
    {
        // A 1 s heartbeat timeout (10 s in real use) keeps the test short.
        await using var setup = await MirrorSetup.StartAsync("hb", _ => new() { ["WSYNC_HEARTBEAT_TIMEOUT_MS"] = "1000" });
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        File.WriteAllText(Path.Combine(workspace, "before"), "before the freeze");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectLocalAsync("web", mirror);
        var frozen = (await WorkspaceAsync(setup)).MonitorProcessId!.Value;

        Syscall.Stop(frozen); // never continued: the daemon must get rid of it
        try
        {
            await Poll.UntilAsync(async () => (await WorkspaceAsync(setup)).MonitorProcessId is { } pid && pid != frozen,
                MirrorSetup.Deadline, "a new monitor in place of the frozen one");
            Poll.Until(() => !Processes.IsAlive(frozen), MirrorSetup.Deadline, "the frozen monitor to be killed");
        }
        finally
        {
            Processes.Kill(frozen);
        }

        File.WriteAllText(Path.Combine(workspace, "after"), "after the freeze");
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
        Assert.Single(Processes.Monitors((await WorkspaceAsync(setup)).Id.ToString()));
        Assert.Contains("heartbeat", setup.Daemon.Output);
    }

    [Fact]
    public async Task A_monitor_killed_outright_leaves_no_ssh_master_behind_and_its_successor_mirrors_over_one_connection()
    {
        var (setup, workspace, mirror, killed, master) = await MirroredOverSshAsync("km");
        await using var _ = setup;

        Processes.Kill(killed); // SIGKILL: no chance to close its connection
        await Poll.UntilAsync(async () => (await WorkspaceAsync(setup)).MonitorProcessId is { } pid && pid != killed,
            MirrorSetup.Deadline, "a new monitor in place of the killed one");
        var successor = (await WorkspaceAsync(setup)).MonitorProcessId!.Value;

        File.WriteAllText(Path.Combine(workspace, "after"), "after the kill");
        await setup.WaitAsync("web");
        MirrorSetup.AssertMirrored(workspace, mirror);
        Poll.Until(() => !Processes.IsAlive(master), MirrorSetup.Deadline, $"the killed monitor's ssh master {master} to end");
        Assert.Single(Masters(successor));
    }

    [Fact]
    public async Task A_monitor_killed_with_its_daemon_leaves_no_ssh_master_behind_once_the_next_daemon_runs()
    {
        var (setup, workspace, mirror, killed, master) = await MirroredOverSshAsync("kd");
        await using var _ = setup;

        // As `pkill -9 wsync` would: neither the daemon nor the monitor gets to end anything. The daemon is
        // frozen first, or it would kill the monitor's group as soon as the monitor died. (Freezing the
        // monitor instead would not do: a group left with a stopped member and no parent in the session
        // gets SIGHUP from the kernel, and the master would go of its own accord.)
        Syscall.Stop(setup.Daemon.ProcessId);
        Processes.Kill(killed);
        setup.Daemon.KillHard();
        Assert.True(Processes.IsAlive(master), "the orphaned master outlives them, or this test proves nothing");

        await setup.RestartDaemonAsync(() => { });
        File.WriteAllText(Path.Combine(workspace, "after"), "after the kill");
        await setup.WaitAsync("web");

        MirrorSetup.AssertMirrored(workspace, mirror);
        Poll.Until(() => !Processes.IsAlive(master), MirrorSetup.Deadline, $"the orphaned ssh master {master} to be asked to exit");
        Assert.Single(Masters((await WorkspaceAsync(setup)).MonitorProcessId!.Value));
    }

    /// <summary>Workspace "web" with one file, mirrored over ssh: its monitor and that monitor's one ssh master.</summary>
    private async Task<(MirrorSetup Setup, string Workspace, string Mirror, int Monitor, int Master)> MirroredOverSshAsync(string prefix)
    {
        var setup = await MirrorSetup.StartAsync(prefix);
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        File.WriteAllText(Path.Combine(workspace, "before"), "before the kill");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror);
        await setup.WaitAsync("web");
        var monitor = (await WorkspaceAsync(setup)).MonitorProcessId!.Value;
        return (setup, workspace, mirror, monitor, Masters(monitor).Single());
    }

    /// <summary>The ssh ControlMasters (ssh -M) below <paramref name="monitor"/>.</summary>
    private static IReadOnlyList<int> Masters(int monitor) =>
        [.. Processes.Descendants(monitor).Where(pid => Processes.Name(pid) == "ssh" && Processes.CommandLine(pid).Contains("-M"))];

    private static async Task<Workspace> WorkspaceAsync(MirrorSetup setup) =>
        (await setup.Client.Call(setup.Api.GetWorkspacesAsync(CancellationToken.None))).Single();
}
