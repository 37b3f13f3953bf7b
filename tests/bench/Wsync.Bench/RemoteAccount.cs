using Wsync.TestSupport;

namespace Wsync.Bench;

/// <summary>
/// The account the loopback sshd logs in as. A remote whose login shell reads start-up files would make
/// every ssh command cost what those files cost (~95 ms for root on these machines), and that is what would be
/// measured; so as root the harness uses a dedicated account with plain /bin/sh and no start-up files,
/// created for the run and removed after it. Without root it falls back to the current user, with a warning.
/// </summary>
internal sealed class RemoteAccount : IDisposable
{
    private const string AccountName = "wsync-bench";

    private const string BashAccountName = "wsync-bench-bash";

    /// <summary>
    /// What a real account's ~/.bashrc often does without an interactive guard (pyenv, nvm, conda set-up):
    /// ~100 ms per shell, and bash reads it for every ssh command.
    /// </summary>
    private const string SlowBashrc = "# tool set-up without an interactive guard, as pyenv, nvm or conda add it\nsleep 0.1\n";

    private readonly bool created;

    private RemoteAccount(string name, bool created)
    {
        Name = name;
        this.created = created;
    }

    public string Name { get; }

    public bool IsDedicated => Name is AccountName or BashAccountName;

    public static RemoteAccount Create(string home, Action<string> warn)
    {
        if (!LoginAccount.IsRoot)
        {
            warn($"Not root: the remote logs in as {Environment.UserName}, whose shell start-up files are part of every figure.");
            return new RemoteAccount(Environment.UserName, created: false);
        }

        return new RemoteAccount(AccountName, LoginAccount.Ensure(AccountName, home));
    }

    /// <summary>
    /// The realistic account: bash, whose ~/.bashrc takes 100 ms; null without root. What a design pays per
    /// shell it starts shows in this account's figures.
    /// </summary>
    public static RemoteAccount? CreateBash(string home)
    {
        if (!LoginAccount.IsRoot)
        {
            return null;
        }

        var created = LoginAccount.Ensure(BashAccountName, home, "/bin/bash");
        var bashrc = Path.Combine(home, ".bashrc");
        File.WriteAllText(bashrc, SlowBashrc);
        LoginAccount.Own(BashAccountName, bashrc);
        return new RemoteAccount(BashAccountName, created);
    }

    /// <summary>Hands a directory the remote writes into to this account.</summary>
    public void Own(string path)
    {
        if (IsDedicated)
        {
            LoginAccount.Own(Name, path);
        }
    }

    public void Dispose()
    {
        if (created)
        {
            LoginAccount.Delete(Name);
        }
    }
}
