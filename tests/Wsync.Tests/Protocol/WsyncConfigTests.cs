namespace Wsync.Tests.Protocol;

public sealed class WsyncConfigTests
{
    [Fact]
    public void Defaults_live_in_the_home()
    {
        var config = WsyncConfig.Parse("", "/h", "/h/wsync.config");

        Assert.Equal("/h/wsync-ws-config.json", config.WorkspaceConfigFilePath);
        Assert.Equal("/h/wsyncd.sock", config.DaemonCommandSocketPath);
        Assert.Equal("/h/logs", config.LogDirectory);
        Assert.Null(config.MonitorExecutablePath);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void Reads_every_key_with_comments_blank_lines_and_spaces()
    {
        const string text = """
            # a comment
            WorkspaceConfigFilePath = /data/ws.json

              DaemonCommandSocketPath=/run/x.sock
            LogDirectory=logs   
            MonitorExecutablePath=/opt/wsync/wsync-monitor
            """;

        var config = WsyncConfig.Parse(text, "/h", "/h/wsync.config");

        Assert.Equal("/data/ws.json", config.WorkspaceConfigFilePath);
        Assert.Equal("/run/x.sock", config.DaemonCommandSocketPath);
        Assert.Equal("/h/logs", config.LogDirectory);
        Assert.Equal("/opt/wsync/wsync-monitor", config.MonitorExecutablePath);
    }

    [Fact]
    public void An_empty_value_means_the_default()
    {
        var config = WsyncConfig.Parse("MonitorExecutablePath=\nLogDirectory=", "/h", "/h/wsync.config");

        Assert.Null(config.MonitorExecutablePath);
        Assert.Equal("/h/logs", config.LogDirectory);
    }

    [Theory]
    [InlineData("WorkspaceConfigFilePath", 1)]
    [InlineData("# ok\n= value", 2)]
    [InlineData("LogDirectory=/x\n\nno equals sign here", 3)]
    [InlineData("Log Directory=/x", 1)]
    public void A_malformed_line_names_file_and_line(string text, int line)
    {
        var error = Assert.Throws<WsyncConfigException>(() => WsyncConfig.Parse(text, "/h", "/h/wsync.config"));

        Assert.Equal("/h/wsync.config", error.File);
        Assert.Equal(line, error.Line);
        Assert.StartsWith($"/h/wsync.config:{line}:", error.Message);
    }

    [Fact]
    public void An_unknown_key_is_a_warning_not_an_error()
    {
        var config = WsyncConfig.Parse("Colour=blue\nLogDirectory=/l", "/h", "/h/wsync.config");

        var warning = Assert.Single(config.Warnings);
        Assert.Contains("/h/wsync.config:1", warning);
        Assert.Contains("Colour", warning);
        Assert.Equal("/l", config.LogDirectory);
    }

    [Fact]
    public void Monitor_crash_tolerance_defaults_to_five_in_ten_minutes_and_reads_from_the_file()
    {
        var defaults = WsyncConfig.Parse("", "/h", "/h/wsync.config");
        var configured = WsyncConfig.Parse("MonitorCrashThreshold=2\nMonitorCrashWindowSeconds = 30\n", "/h", "/h/wsync.config");

        Assert.Equal(5, defaults.MonitorCrashThreshold);
        Assert.Equal(TimeSpan.FromMinutes(10), defaults.MonitorCrashWindow);
        Assert.Equal(2, configured.MonitorCrashThreshold);
        Assert.Equal(TimeSpan.FromSeconds(30), configured.MonitorCrashWindow);
        Assert.Empty(configured.Warnings);
    }

    [Theory]
    [InlineData("MonitorCrashThreshold=0")]
    [InlineData("MonitorCrashThreshold=-1")]
    [InlineData("MonitorCrashThreshold=five")]
    [InlineData("MonitorCrashWindowSeconds=1.5")]
    public void A_crash_tolerance_that_is_not_a_positive_whole_number_names_key_file_and_line(string line)
    {
        var error = Assert.Throws<WsyncConfigException>(() => WsyncConfig.Parse("# tolerance\n" + line, "/h", "/h/wsync.config"));

        Assert.Equal(2, error.Line);
        Assert.Contains(line[..line.IndexOf('=')], error.Message);
        Assert.Contains("at least 1", error.Message);
    }

    [Fact]
    public void A_deep_home_gets_a_short_socket_path_of_its_own()
    {
        var deep = "/tmp/" + new string('d', 120);
        var other = "/tmp/" + new string('e', 120);

        var socket = WsyncConfig.DefaultSocketPath(deep);

        Assert.True(System.Text.Encoding.UTF8.GetByteCount(socket) <= WsyncConfig.MaxSocketPathBytes, socket);
        Assert.NotEqual(socket, WsyncConfig.DefaultSocketPath(other));
    }

    [Fact]
    public void First_use_creates_a_private_home_and_a_commented_config_that_reads_back_the_same()
    {
        using var temp = new Wsync.TestSupport.TempDirectory();
        var home = temp.Combine("home");

        var created = WsyncConfig.LoadOrCreate(home);

        var file = Path.Combine(home, WsyncConfig.FileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(home));
        Assert.Contains("# ", File.ReadAllText(file));
        var reread = WsyncConfig.Load(home);
        Assert.Equal(created.WorkspaceConfigFilePath, reread.WorkspaceConfigFilePath);
        Assert.Equal(created.DaemonCommandSocketPath, reread.DaemonCommandSocketPath);
        Assert.Equal(Path.Combine(home, "logs"), reread.LogDirectory);
        Assert.Equal(WsyncConfig.DefaultMonitorCrashThreshold, reread.MonitorCrashThreshold);
        Assert.Equal(TimeSpan.FromSeconds(WsyncConfig.DefaultMonitorCrashWindowSeconds), reread.MonitorCrashWindow);
        Assert.Empty(reread.Warnings);
    }

    [Fact]
    public void WSYNC_HOME_chooses_the_home()
    {
        var before = Environment.GetEnvironmentVariable(WsyncConfig.HomeVariable);
        try
        {
            Environment.SetEnvironmentVariable(WsyncConfig.HomeVariable, "/tmp/somewhere");
            Assert.Equal("/tmp/somewhere", WsyncConfig.ResolveHome());
            Environment.SetEnvironmentVariable(WsyncConfig.HomeVariable, null);
            Assert.EndsWith("/.wsync", WsyncConfig.ResolveHome());
        }
        finally
        {
            Environment.SetEnvironmentVariable(WsyncConfig.HomeVariable, before);
        }
    }
}
