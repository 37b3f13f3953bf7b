using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// The checks every request passes before anything changes. Each failure is a <see cref="WsyncException"/>
/// naming the offending value and saying what to do.
/// </summary>
internal static class Validation
{
    private const int MaxNameLength = 64;

    /// <summary>Directories that are never a workspace without -Force: mirroring them is almost surely a mistake.</summary>
    private static readonly string[] SystemDirectories =
        ["/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
         "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/tmp"];

    /// <summary>Trees whose content is not files at all; refused even with -Force.</summary>
    private static readonly string[] PseudoFileSystems = ["/proc", "/sys", "/dev", "/run"];

    /// <summary>ssh options that run commands or load code on this machine: refused without -AllowUnsafeSshOption.</summary>
    private static readonly HashSet<string> UnsafeSshOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        "ProxyCommand", "LocalCommand", "PermitLocalCommand", "KnownHostsCommand", "Match", "Include",
        "PKCS11Provider", "SecurityKeyProvider", "LocalForward", "RemoteForward", "DynamicForward", "Tunnel",
        "TunnelDevice", "GatewayPorts", "ForwardX11", "ForwardX11Trusted", "XAuthLocation", "ForwardAgent",
        "IdentityAgent", "SessionType", "StdinNull", "ForkAfterAuthentication", "ExitOnForwardFailure",
    };

    /// <summary>Options wsync sets itself; a user value would break the connection it manages.</summary>
    private static readonly HashSet<string> ManagedSshOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        "ControlMaster", "ControlPath", "ControlPersist", "BatchMode", "RemoteCommand", "RequestTTY", "EscapeChar",
    };

    /// <summary>ssh options that only shape the connection; accepted as they are.</summary>
    private static readonly HashSet<string> SafeSshOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        "AddressFamily", "BindAddress", "BindInterface", "CanonicalDomains", "CanonicalizeFallbackLocal",
        "CanonicalizeHostname", "CanonicalizeMaxDots", "CanonicalizePermittedCNAMEs", "CASignatureAlgorithms",
        "CertificateFile", "CheckHostIP", "Ciphers", "Compression", "ConnectionAttempts", "ConnectTimeout",
        "GlobalKnownHostsFile", "GSSAPIAuthentication", "GSSAPIDelegateCredentials", "HashKnownHosts",
        "HostbasedAcceptedAlgorithms", "HostbasedAuthentication", "HostKeyAlgorithms", "HostKeyAlias", "HostName",
        "IdentitiesOnly", "IdentityFile", "IPQoS", "KbdInteractiveAuthentication", "KexAlgorithms", "LogLevel",
        "MACs", "NoHostAuthenticationForLocalhost", "NumberOfPasswordPrompts", "PasswordAuthentication", "Port",
        "PreferredAuthentications", "ProxyJump", "PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes",
        "PubkeyAuthentication", "RekeyLimit", "RequiredRSASize", "SendEnv", "ServerAliveCountMax",
        "ServerAliveInterval", "SetEnv", "StrictHostKeyChecking", "TCPKeepAlive", "UpdateHostKeys", "User",
        "UserKnownHostsFile", "VerifyHostKeyDNS", "VisualHostKey", "ChallengeResponseAuthentication",
    };

    public static void CheckName(string name, string errorId, string what)
    {
        string? problem = null;
        if (string.IsNullOrWhiteSpace(name))
        {
            problem = "it is empty";
        }
        else if (name.Length > MaxNameLength)
        {
            problem = $"it is longer than {MaxNameLength} characters";
        }
        else if (name != name.Trim())
        {
            problem = "it starts or ends with white space";
        }
        else if (name.IndexOfAny(['*', '?', '[', ']']) >= 0)
        {
            problem = "wildcard characters (* ? [ ]) would make it unmatchable by name";
        }
        else if (name.IndexOfAny(['/', '\\']) >= 0 || name.Any(char.IsControl))
        {
            problem = "it contains a slash, backslash or control character";
        }
        else if (name.StartsWith('-') || name.StartsWith('.'))
        {
            problem = "it starts with '-' or '.'";
        }

        if (problem is not null)
        {
            throw new WsyncException(errorId, WsyncErrorCategory.InvalidArgument, name,
                $"'{name}' is not a valid {what} name: {problem}. Use letters, digits, '.', '_', '-' and spaces.");
        }
    }

    /// <summary>Returns the canonical (symlink-free) directory, or throws why it cannot be a workspace.</summary>
    public static string CheckWorkspacePath(string path, bool force)
    {
        if (!Path.IsPathFullyQualified(path))
        {
            throw new WsyncException(ErrorIds.WorkspacePathNotFound, WsyncErrorCategory.InvalidArgument, path,
                $"'{path}' is not an absolute path.");
        }

        if (File.Exists(path))
        {
            throw new WsyncException(ErrorIds.WorkspacePathNotDirectory, WsyncErrorCategory.InvalidArgument, path,
                $"'{path}' is a file; a workspace is a directory.");
        }

        var resolved = Posix.ResolvePath(path);
        if (resolved is null || !Directory.Exists(resolved))
        {
            throw new WsyncException(ErrorIds.WorkspacePathNotFound, WsyncErrorCategory.ObjectNotFound, path,
                $"The directory '{path}' does not exist. Create it first, or check the spelling.");
        }

        if (PseudoFileSystems.Any(root => IsSameOrUnder(resolved, root) && resolved != "/"))
        {
            throw new WsyncException(ErrorIds.WorkspacePathUnsafe, WsyncErrorCategory.InvalidArgument, path,
                $"'{resolved}' is a kernel or runtime file system, not a tree of files to mirror.");
        }

        if (!force)
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile).TrimEnd('/');
            if (resolved == home || SystemDirectories.Contains(resolved))
            {
                throw new WsyncException(ErrorIds.WorkspacePathUnsafe, WsyncErrorCategory.InvalidArgument, path,
                    $"'{resolved}' is {(resolved == home ? "your home directory" : "a system directory")}; mirroring it is rarely meant. " +
                    "Choose a project directory, or add -Force if you really mean it.");
            }
        }

        return resolved;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="root"/> or inside it (paths canonical).</summary>
    public static bool IsSameOrUnder(string path, string root) =>
        path == root || path.StartsWith(root == "/" ? "/" : root + "/", StringComparison.Ordinal);

    public static void CheckExcludes(IReadOnlyList<string> patterns)
    {
        foreach (var pattern in patterns)
        {
            string? problem = null;
            if (string.IsNullOrWhiteSpace(pattern))
            {
                problem = "it is empty";
            }
            else if (pattern.Any(char.IsControl))
            {
                problem = "it contains a control character";
            }
            else if (pattern.StartsWith("+ ", StringComparison.Ordinal) || pattern.StartsWith("- ", StringComparison.Ordinal) ||
                     pattern.StartsWith("! ", StringComparison.Ordinal) || pattern == "!")
            {
                problem = "rsync filter-rule prefixes ('+ ', '- ', '!') are not patterns";
            }
            else if (!BracketsBalanced(pattern))
            {
                problem = "a '[' has no matching ']'";
            }

            if (problem is not null)
            {
                throw new WsyncException(ErrorIds.ExcludePatternInvalid, WsyncErrorCategory.InvalidArgument, pattern,
                    $"'{pattern}' is not a valid exclude pattern: {problem}. Patterns use rsync syntax: '*.o', 'build/', '/dist', '**/node_modules'.");
            }
        }
    }

    /// <summary>Checks -SshOption values (Key=Value) against the allow-list; returns them as ssh's -o takes them.</summary>
    public static IReadOnlyList<string> CheckSshOptions(IReadOnlyList<string> options, bool allowUnsafe)
    {
        var result = new List<string>();
        foreach (var option in options)
        {
            var separator = option.IndexOfAny(['=', ' ']);
            var key = separator > 0 ? option[..separator].Trim() : option.Trim();
            var value = separator > 0 ? option[(separator + 1)..].Trim() : "";
            if (separator <= 0 || value.Length == 0 || option.Any(char.IsControl) || key.StartsWith('-'))
            {
                throw new WsyncException(ErrorIds.SshOptionInvalid, WsyncErrorCategory.InvalidArgument, option,
                    $"'{option}' is not an ssh option: write Key=Value, e.g. 'ServerAliveInterval=15'.");
            }

            if (ManagedSshOptions.Contains(key))
            {
                throw new WsyncException(ErrorIds.SshOptionInvalid, WsyncErrorCategory.InvalidArgument, option,
                    $"wsync sets {key} itself to share one ssh connection per remote; leave it out.");
            }

            if (UnsafeSshOptions.Contains(key))
            {
                if (!allowUnsafe)
                {
                    throw new WsyncException(ErrorIds.SshOptionUnsafe, WsyncErrorCategory.SecurityError, option,
                        $"{key} runs commands or opens channels on this machine; add -AllowUnsafeSshOption if you trust it.");
                }
            }
            else if (!SafeSshOptions.Contains(key))
            {
                throw new WsyncException(ErrorIds.SshOptionInvalid, WsyncErrorCategory.InvalidArgument, option,
                    $"'{key}' is not an ssh option wsync accepts. Accepted: {string.Join(", ", SafeSshOptions.Order(StringComparer.OrdinalIgnoreCase))}.");
            }

            result.Add($"{key}={value}");
        }

        return result;
    }

    private static bool BracketsBalanced(string pattern)
    {
        var open = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '\\':
                    i++;
                    break;
                case '[' when !open:
                    open = true;
                    break;
                case ']' when open:
                    open = false;
                    break;
            }
        }

        return !open;
    }
}
