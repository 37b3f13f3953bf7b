namespace Wsync.TestSupport;

/// <summary>
/// An account with plain /bin/sh and no start-up files, for the loopback sshd to log in as when the tests
/// or the bench run as root. Root's own shell start-up files run for every ssh command (~95 ms measured
/// on these machines), and killing a session mid-way through them (a simulated network cut) can leave their locks
/// behind (pyenv's rehash lock stalls every later login for 60 s).
/// </summary>
public static class LoginAccount
{
    private static readonly Lock Gate = new();

    public static bool IsRoot => NativeIds.EffectiveUserId == 0;

    /// <summary>Creates the account unless it exists; returns whether it was created. Needs root.</summary>
    public static bool Ensure(string name, string home, string shell = "/bin/sh")
    {
        lock (Gate)
        {
            var created = false;
            if (Processes.Run("id", ["-u", name]).ExitCode != 0)
            {
                // Two processes may race here (parallel test runs): the loser's useradd fails, the account exists.
                created = Processes.Run("useradd", ["--system", "--user-group", "--shell", shell, "--home-dir", home, "--no-create-home", name]).ExitCode == 0;
                Processes.RunChecked("id", ["-u", name]);
            }

            // A locked password ("!") is refused by sshd without PAM; "*" allows key logins only.
            Processes.RunChecked("usermod", ["-p", "*", "-s", shell, name]);

            // A home of its own where one is asked for (wsync installs its agent there); an account made
            // by an older harness with "/" moves to it.
            if (home != "/")
            {
                System.IO.Directory.CreateDirectory(home);
                Own(name, home, recursive: false);
                File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (File.ReadLines("/etc/passwd").Select(line => line.Split(':')).FirstOrDefault(entry => entry[0] == name) is { Length: > 5 } entry && entry[5] != home)
                {
                    Processes.RunChecked("usermod", ["-d", home, name]);
                }
            }

            return created;
        }
    }

    /// <summary>Removes the account; --force because its killed sessions may linger as zombies nobody reaps (PID 1 in a container).</summary>
    public static void Delete(string name) => Processes.Run("userdel", ["--force", name]);

    /// <summary>Hands <paramref name="path"/> (and, if <paramref name="recursive"/>, everything in it) to <paramref name="name"/>.</summary>
    public static void Own(string name, string path, bool recursive = true) =>
        Processes.RunChecked("chown", recursive ? ["-R", $"{name}:{name}", "--", path] : [$"{name}:{name}", "--", path]);
}
