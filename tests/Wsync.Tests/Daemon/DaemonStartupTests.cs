using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

/// <summary>What a starting daemon does with the files it finds.</summary>
public sealed class DaemonStartupTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TempDirectory temp = new("ds");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task A_restarted_daemon_restores_every_workspace_and_starts_their_monitors()
    {
        var home = temp.Combine("home");
        Guid id;
        using (var first = DaemonProcess.Start(home))
        {
            using var client = await TestClient.ConnectAsync(first.SocketPath);
            id = (await client.Call(client.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = temp.CreateDirectory("web") }, CancellationToken.None))).Id;
            await client.Call(client.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest { Workspace = "web", Destination = temp.CreateDirectory("m") }, null, CancellationToken.None));
        }

        using var second = DaemonProcess.Start(home);
        using var again = await TestClient.ConnectAsync(second.SocketPath);
        var workspace = Assert.Single(await again.Call(again.Daemon.GetWorkspacesAsync(CancellationToken.None)));

        Assert.Equal(id, workspace.Id);
        Assert.Equal("m", Assert.Single(workspace.Remotes).Name);
        Poll.Until(() => second.MonitorProcessIds().Count == 1, Deadline, "the restored workspace's monitor");
    }

    [Fact]
    public void A_damaged_workspace_file_stops_the_daemon_with_its_name_and_is_never_overwritten()
    {
        var home = temp.CreateDirectory("home");
        var file = Path.Combine(home, "wsync-ws-config.json");
        File.WriteAllText(file, "[ {\"Id\": 12 ]");

        var (exitCode, error) = DaemonProcess.RunToExit(home, Deadline);

        Assert.Equal(2, exitCode);
        Assert.Contains(file, error);
        Assert.Contains("line 1", error);
        Assert.Equal("[ {\"Id\": 12 ]", File.ReadAllText(file));
    }

    /// <summary>A file that cannot be read at all (root reads any mode, so a directory stands in for it).</summary>
    [Theory]
    [InlineData("wsync-ws-config.json")]
    [InlineData("wsync.config")]
    public void An_unreadable_file_stops_the_daemon_with_its_name_and_is_left_as_it_is(string name)
    {
        var home = temp.CreateDirectory("home");
        var unreadable = Directory.CreateDirectory(Path.Combine(home, name)).FullName;

        var (exitCode, error) = DaemonProcess.RunToExit(home, Deadline);

        Assert.Equal(2, exitCode);
        Assert.Contains(unreadable, error);
        Assert.Contains("is a directory", error);
        Assert.True(Directory.Exists(unreadable));
    }

    [Fact]
    public void A_malformed_config_line_stops_the_daemon_naming_file_and_line()
    {
        var home = temp.CreateDirectory("home");
        File.WriteAllText(Path.Combine(home, "wsync.config"), "# fine\nLogDirectory=logs\nthis line is wrong\n");

        var (exitCode, error) = DaemonProcess.RunToExit(home, Deadline);

        Assert.Equal(2, exitCode);
        Assert.Contains(Path.Combine(home, "wsync.config") + ":3:", error);
    }

    [Fact]
    public void A_socket_path_too_long_for_the_system_is_refused_with_the_limit()
    {
        var home = temp.CreateDirectory("home");
        File.WriteAllText(Path.Combine(home, "wsync.config"), $"DaemonCommandSocketPath=/tmp/{new string('s', 120)}.sock\n");

        var (exitCode, error) = DaemonProcess.RunToExit(home, Deadline);

        Assert.Equal(2, exitCode);
        Assert.Contains("107 bytes", error);
    }
}
