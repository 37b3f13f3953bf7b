using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>One private sshd shared by a test class; stopped (with every session) at the end, by pid.</summary>
public sealed class SshFixture : IDisposable
{
    private readonly TempDirectory directory = new("ssh");

    public SshFixture()
    {
        Server = SshServer.Start(directory.Combine("sshd"));
    }

    public SshServer Server { get; }

    public void Dispose()
    {
        Server.Dispose();
        directory.Dispose();
    }
}
