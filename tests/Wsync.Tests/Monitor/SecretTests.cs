using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>What wsync writes to disk about a remote: private files, and logs without secrets.</summary>
public sealed class SecretTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    [Fact]
    public async Task Logs_hold_neither_key_material_nor_option_values_and_the_files_are_private()
    {
        await using var setup = await MirrorSetup.StartAsync("sec");
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("n");
        var workspace = setup.Temp.CreateDirectory("ws");
        File.WriteAllText(Path.Combine(workspace, "a.txt"), "a");
        await setup.AddWorkspaceAsync(workspace);
        var mirror = setup.Temp.Combine("mirror");
        ssh.Server.Own(Path.GetDirectoryName(mirror)!, recursive: false);

        // A working remote whose options carry a secret, and a failing one (wrong port) with the same, so
        // that error paths are logged too.
        var options = ssh.Server.SshOptions.Append($"SetEnv=WSYNC_TOKEN={secret}").ToArray();
        await setup.Client.Call(setup.Api.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = "ws",
            Destination = ssh.Server.Destination(mirror),
            Port = ssh.Server.Port,
            IdentityFile = ssh.Server.IdentityFile,
            SshOptions = options,
            WaitForInitialSync = true,
        }, null, CancellationToken.None));
        var refused = await Assert.ThrowsAsync<WsyncException>(() => setup.Client.Call(setup.Api.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = "ws",
            Destination = ssh.Server.Destination(setup.Temp.Combine("other")),
            Name = "wrong-port",
            Port = 1,
            IdentityFile = ssh.Server.IdentityFile,
            SshOptions = options,
        }, null, CancellationToken.None)));
        Assert.DoesNotContain(secret, refused.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(workspace, "b.txt"), "b");
        await setup.WaitAsync("ws");
        MirrorSetup.AssertMirrored(workspace, mirror);

        var key = File.ReadAllLines(ssh.Server.IdentityFile).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).ToArray();
        var logs = Directory.EnumerateFiles(Path.Combine(setup.Daemon.Home, "logs")).ToArray();
        Assert.NotEmpty(logs);
        foreach (var log in logs)
        {
            var text = Read(log);
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
            Assert.All(key, line => Assert.DoesNotContain(line, text, StringComparison.Ordinal));
        }

        var privateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(privateFile, File.GetUnixFileMode(setup.Daemon.WorkspaceFile));
        Assert.Equal(privateFile, File.GetUnixFileMode(Path.Combine(setup.Daemon.Home, "wsync.config")));
        Assert.All(logs, log => Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(log) & (UnixFileMode)0b000_000_111));
    }

    private static string Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }
}
