namespace Wsync.Tests.Protocol;

public sealed class DestinationTests
{
    [Theory]
    [InlineData("/srv/mirror", RemoteKind.Local, null, null, null, "/srv/mirror", "/srv/mirror")]
    [InlineData("/srv/mirror/", RemoteKind.Local, null, null, null, "/srv/mirror", "/srv/mirror")]
    [InlineData("build1:src/web", RemoteKind.Ssh, null, "build1", null, "src/web", "build1:src/web")]
    [InlineData("me@build1:/srv/web/", RemoteKind.Ssh, "me", "build1", null, "/srv/web", "me@build1:/srv/web")]
    [InlineData("ssh://me@build1:2222/srv/web", RemoteKind.Ssh, "me", "build1", 2222, "/srv/web", "me@build1:/srv/web")]
    [InlineData("ssh://build1/srv", RemoteKind.Ssh, null, "build1", null, "/srv", "build1:/srv")]
    [InlineData("me@[::1]:/srv", RemoteKind.Ssh, "me", "::1", null, "/srv", "me@[::1]:/srv")]
    [InlineData("ssh://[::1]:22/srv", RemoteKind.Ssh, null, "::1", 22, "/srv", "[::1]:/srv")]
    [InlineData("10.0.0.7:/a b/c", RemoteKind.Ssh, null, "10.0.0.7", null, "/a b/c", "10.0.0.7:/a b/c")]
    public void Parses_every_form(string text, RemoteKind kind, string? user, string? host, int? port, string path, string canonical)
    {
        var destination = Destination.Parse(text);

        Assert.Equal(kind, destination.Kind);
        Assert.Equal(user, destination.User);
        Assert.Equal(host, destination.Host);
        Assert.Equal(port, destination.Port);
        Assert.Equal(path, destination.Path);
        Assert.Equal(canonical, destination.ToString());
        Assert.Equal(destination.ToString(), Destination.Parse(destination.ToString(), destination.Port).ToString());
    }

    [Theory]
    [InlineData("", ErrorIds.DestinationInvalid)]
    [InlineData("   ", ErrorIds.DestinationInvalid)]
    [InlineData("host:", ErrorIds.DestinationInvalid)]
    [InlineData(":path", ErrorIds.DestinationInvalid)]
    [InlineData("ssh://", ErrorIds.DestinationInvalid)]
    [InlineData("ssh://host", ErrorIds.DestinationInvalid)]
    [InlineData("user@@host:/p", ErrorIds.DestinationInvalid)]
    [InlineData("@host:/p", ErrorIds.DestinationInvalid)]
    [InlineData("-oProxyCommand=touch x:/p", ErrorIds.DestinationInvalid)]
    [InlineData("-user@host:/p", ErrorIds.DestinationInvalid)]
    [InlineData("ho st:/p", ErrorIds.DestinationInvalid)]
    [InlineData("host;rm:/p", ErrorIds.DestinationInvalid)]
    [InlineData("host:/p\nq", ErrorIds.DestinationInvalid)]
    [InlineData("relative/dir", ErrorIds.DestinationInvalid)]
    [InlineData("[zz]:/p", ErrorIds.DestinationInvalid)]
    [InlineData("ssh://host:0/p", ErrorIds.PortInvalid)]
    [InlineData("ssh://host:70000/p", ErrorIds.PortInvalid)]
    [InlineData("ssh://host:x/p", ErrorIds.PortInvalid)]
    public void Refuses_malformed_destinations_naming_the_value(string text, string errorId)
    {
        var error = Assert.Throws<WsyncException>(() => Destination.Parse(text));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(WsyncErrorCategory.InvalidArgument, error.Category);
        Assert.Equal(text, error.Target);
    }

    [Fact]
    public void A_port_parameter_must_agree_with_the_url_and_suits_ssh_only()
    {
        Assert.Equal(2222, Destination.Parse("host:/p", 2222).Port);
        Assert.Equal(ErrorIds.PortInvalid, Assert.Throws<WsyncException>(() => Destination.Parse("ssh://host:2222/p", 22)).ErrorId);
        Assert.Equal(ErrorIds.PortInvalid, Assert.Throws<WsyncException>(() => Destination.Parse("/local", 22)).ErrorId);
        Assert.Equal(ErrorIds.PortInvalid, Assert.Throws<WsyncException>(() => Destination.Parse("host:/p", 0)).ErrorId);
        Assert.Equal(ErrorIds.PortInvalid, Assert.Throws<WsyncException>(() => Destination.Parse("host:/p", 70000)).ErrorId);
    }

    [Fact]
    public void Default_names_come_from_the_host_or_the_leaf()
    {
        Assert.Equal("build1", Destination.Parse("me@build1:/srv/web").DefaultName);
        Assert.Equal("mirror", Destination.Parse("/srv/mirror").DefaultName);
    }
}
