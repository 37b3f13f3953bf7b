using Wsync.Monitor.Sync;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// A daemon started at boot has no ssh agent and no one to type a passphrase: a login refused for that reason
/// says so and is retried (Retrying), where a key the host refuses stays a failure that needs a person.
/// </summary>
public sealed class SshKeysTests : IDisposable
{
    private readonly TempDirectory temp = new("sk");

    [Fact]
    public void A_key_with_a_passphrase_is_told_from_one_without_in_both_formats()
    {
        var locked = KeyPair("locked", "a passphrase", "ed25519");
        var open = KeyPair("open", "", "ed25519");
        var lockedPem = KeyPair("locked-pem", "a passphrase", "rsa", "-m", "PEM");

        Assert.True(SshKeys.IsPassphraseProtected(locked));
        Assert.True(SshKeys.IsPassphraseProtected(lockedPem));
        Assert.False(SshKeys.IsPassphraseProtected(open));
        Assert.False(SshKeys.IsPassphraseProtected(temp.Combine("missing")));
    }

    [Fact]
    public void A_refused_login_without_an_agent_and_with_a_locked_key_says_why_and_is_retried()
    {
        var locked = KeyPair("locked", "a passphrase", "ed25519");
        var previous = Environment.GetEnvironmentVariable("SSH_AUTH_SOCK");
        try
        {
            Environment.SetEnvironmentVariable("SSH_AUTH_SOCK", null);
            var failure = SshErrors.Classify("me@build1: Permission denied (publickey).", "me@build1:/srv", locked);

            Assert.Equal(ErrorIds.SshAuthenticationFailed, failure.ErrorId);
            Assert.False(failure.Permanent);
            Assert.Contains("No ssh agent is reachable (SSH_AUTH_SOCK is not set", failure.Message);
            Assert.Contains($"{locked} is protected by a passphrase", failure.Message);

            // A key that needs no agent, refused by the host: that needs a person (Failed, retried slowly).
            var refused = SshErrors.Classify("me@build1: Permission denied (publickey).", "me@build1:/srv", KeyPair("open", "", "ed25519"));
            Assert.True(refused.Permanent);
            Assert.DoesNotContain("agent", refused.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSH_AUTH_SOCK", previous);
        }
    }

    private string KeyPair(string name, string passphrase, string type, params string[] extra)
    {
        var path = temp.Combine(name);
        Processes.RunChecked("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-f", path, "-C", name, .. extra]);
        return path;
    }

    public void Dispose() => temp.Dispose();
}
