using System.Security.Cryptography;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// ssh remotes through wsync-agent on the host, end to end with a real daemon and a real sshd: the agent is
/// installed into the account's cache as the issue says (versioned, 0700, the shipped bytes, stale versions
/// removed), every kind of change arrives exactly as rsync would leave it, and an agent killed mid-burst or
/// a cache that no longer checks out costs nothing: rsync carries the changes until the agent is back.
/// </summary>
public sealed class SshAgentTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    /// <summary>This machine's runtime, the agent a host of its architecture gets.</summary>
    private static readonly string Runtime = "linux-" + System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();

    /// <summary>This version's agent folder for this architecture: exactly one.</summary>
    private string InstalledFolder() =>
        Directory.GetDirectories(Cache).Single(f => Path.GetFileName(f).StartsWith($"{ProtocolInfo.ProductVersion}-{Runtime}-", StringComparison.Ordinal));

    private string Cache => Path.Combine(ssh.Server.User == SshServer.TestAccount ? SshServer.TestHome : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".wsync/agents");

    [Fact]
    public async Task The_agent_is_installed_on_the_host_checked_and_carries_every_kind_of_change_exactly()
    {
        // None of this version's folders; a stale version's of this architecture and one named before the
        // architecture was in the name, both removed by the install; another architecture's, kept (a home that
        // hosts of both share).
        foreach (var folder in Directory.Exists(Cache) ? Directory.EnumerateDirectories(Cache) : [])
        {
            Directory.Delete(folder, recursive: true);
        }

        var otherArchitecture = Path.Combine(Cache, $"0.0.1-{(Runtime == "linux-x64" ? "linux-arm64" : "linux-x64")}-0000000000000000");
        foreach (var seeded in new[] { $"0.0.1-{Runtime}-0000000000000000", "0.0.1-0000000000000000", Path.GetFileName(otherArchitecture) })
        {
            Directory.CreateDirectory(Path.Combine(Cache, seeded));
        }

        ssh.Server.Own(Path.GetDirectoryName(Cache)!);
        await using var setup = await MirrorSetup.StartAsync("sa");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        Directory.CreateDirectory(Path.Combine(workspace, "src"));
        File.WriteAllText(Path.Combine(workspace, "src/main.c"), "int main;");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror, name: "host");
        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "host")).Transport == RemoteTransport.Agent, MirrorSetup.Deadline, "the agent to carry the remote's changes");

        Assert.Equal(new[] { otherArchitecture, InstalledFolder() }, Directory.GetDirectories(Cache).Order(StringComparer.Ordinal));
        var installed = InstalledFolder();
        var agent = Path.Combine(installed, "wsync-agent");
        Assert.Equal(Sha256(RepositoryPaths.Agent), Sha256(agent));
        foreach (var path in new[] { Path.GetDirectoryName(Cache)!, Cache, installed, agent })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
        }

        await AgentMirrorTests.EveryKindOfChangeAsync(setup, workspace, mirror);
        Assert.Equal(RemoteTransport.Agent, (await setup.RemoteAsync("web", "host")).Transport);
    }

    [Fact]
    public async Task An_agent_killed_during_a_burst_loses_nothing_and_one_whose_file_no_longer_checks_out_is_installed_again()
    {
        await using var setup = await MirrorSetup.StartAsync("sk");
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror, name: "host");
        await Poll.UntilAsync(async () => (await setup.RemoteAsync("web", "host")).Transport == RemoteTransport.Agent, MirrorSetup.Deadline, "the agent to carry the remote's changes");

        // Made writable by its group: the next start must not run it as it is.
        var agent = Path.Combine(InstalledFolder(), "wsync-agent");
        File.SetUnixFileMode(agent, File.GetUnixFileMode(agent) | UnixFileMode.GroupWrite);

        var killed = false;
        for (var i = 0; i < 200; i++)
        {
            File.WriteAllText(Path.Combine(workspace, $"burst-{i % 50}"), $"edit {i}");
            if (i == 100)
            {
                killed = KillAgentServing(mirror);
            }
        }

        Assert.True(killed, "an agent serving the mirror was found and killed");
        await setup.WaitAsync("web");
        AssertExact(workspace, mirror);

        var edits = 0;
        await Poll.UntilAsync(async () =>
        {
            File.WriteAllText(Path.Combine(workspace, $"after-{edits++}"), "after");
            await setup.WaitAsync("web");
            return (await setup.RemoteAsync("web", "host")).Transport == RemoteTransport.Agent;
        }, MirrorSetup.Deadline, "the agent to run again");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(agent));
        AssertExact(workspace, mirror);
    }

    [Fact]
    public async Task A_host_the_agent_cannot_run_on_is_mirrored_by_rsync_and_the_remote_says_why()
    {
        // The other architecture's agent, uploaded and started: the host cannot execute it, as on a host of an
        // architecture wsync ships none for, or a home mounted noexec.
        await using var setup = await MirrorSetup.StartAsync("su", _ => new() { ["WSYNC_AGENT_RUNTIME"] = "linux-arm64" });
        var workspace = setup.Temp.CreateDirectory("web");
        var mirror = setup.Temp.CreateDirectory("mirror");
        File.WriteAllText(Path.Combine(workspace, "first"), "by the initial sync");
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("web", ssh.Server, mirror, name: "host", agentStarts: false);

        var edits = 0;
        await Poll.UntilAsync(async () =>
        {
            File.WriteAllText(Path.Combine(workspace, $"edit-{edits++}"), "by rsync");
            await setup.WaitAsync("web");
            return (await setup.RemoteAsync("web", "host")).TransportReason?.Contains("could not start", StringComparison.Ordinal) == true;
        }, MirrorSetup.Deadline, "the remote to say the agent could not start");
        var remote = await setup.RemoteAsync("web", "host");
        Assert.Equal(RemoteTransport.Rsync, remote.Transport);
        Assert.Equal(RemoteState.InSync, remote.State);
        AssertExact(workspace, mirror);
    }

    /// <summary>Kills (-9) the wsync-agent that holds <paramref name="mirror"/> open; false when none does.</summary>
    private static bool KillAgentServing(string mirror)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "comm")).Trim() == "wsync-agent"
                    && Directory.EnumerateFileSystemEntries(Path.Combine(directory, "fd")).Any(fd => new FileInfo(fd).LinkTarget == mirror))
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                    return true;
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }

        return false;
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static void AssertExact(string workspace, string mirror) => AgentMirrorTests.AssertExact(workspace, mirror);
}
