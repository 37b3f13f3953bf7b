namespace Wsync.Monitor.Sync;

/// <summary>What ssh's own failures mean, as errors a user can act on: an unknown or changed host key, a refused login, a host that cannot be reached.</summary>
internal static class SshErrors
{
    /// <summary>What ssh's stderr means, as an error the user can act on.</summary>
    public static EndpointException Classify(string stderr, string target, string? identityFile = null)
    {
        var text = stderr.Length > 0 ? stderr : "ssh exited without a message";
        if (text.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", StringComparison.Ordinal) ||
            text.Contains("Host key for", StringComparison.Ordinal) && text.Contains("has changed", StringComparison.Ordinal))
        {
            return new EndpointException(ErrorIds.HostKeyChanged, WsyncErrorCategory.SecurityError, permanent: true,
                $"The host key of {target} has CHANGED since it was recorded in known_hosts: either the host was reinstalled or someone is in the middle. " +
                $"Check it, then fix known_hosts (ssh-keygen -R). ssh said: {text}");
        }

        if (text.Contains("Host key verification failed", StringComparison.Ordinal) || text.Contains("host key is known", StringComparison.Ordinal))
        {
            return new EndpointException(ErrorIds.HostKeyUnknown, WsyncErrorCategory.SecurityError, permanent: true,
                $"The host key of {target} is not in known_hosts, and wsync never trusts a key silently. Connect once with ssh to verify " +
                $"and record it, or pass -SshOption 'StrictHostKeyChecking=accept-new' to trust it on first use. ssh said: {text}");
        }

        if (text.Contains("Permission denied", StringComparison.Ordinal) || text.Contains("Too many authentication failures", StringComparison.Ordinal))
        {
            // Without an agent (a daemon started at boot) the key may only be locked: an agent given later, or a key
            // without a passphrase, makes the next attempt pass, so this is retried with backoff, not left Failed.
            var hint = SshKeys.LoginHint(identityFile);
            return new EndpointException(ErrorIds.SshAuthenticationFailed, WsyncErrorCategory.PermissionDenied, permanent: hint is null,
                $"ssh could not log in to {target} with a key (wsync never asks for passwords). " +
                (hint ?? "Check -IdentityFile and the remote authorized_keys.") + $" ssh said: {text}");
        }

        if (text.Contains("no such identity", StringComparison.OrdinalIgnoreCase) || text.Contains("not accessible", StringComparison.Ordinal))
        {
            return new EndpointException(ErrorIds.IdentityFileNotFound, WsyncErrorCategory.ObjectNotFound, permanent: true,
                $"ssh cannot read the identity file for {target}. ssh said: {text}");
        }

        return new EndpointException(ErrorIds.DestinationUnreachable, WsyncErrorCategory.ConnectionError, permanent: false,
            $"Cannot reach {target}. ssh said: {text}");
    }
}
