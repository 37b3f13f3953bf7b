using System.Text;

namespace Wsync.Monitor.Sync;

/// <summary>
/// Why ssh may fail to log in without anyone to type a passphrase (a daemon started at boot by systemd has
/// no agent): what the user can act on, added to an authentication failure.
/// </summary>
internal static class SshKeys
{
    /// <summary>The keys ssh tries when no -IdentityFile is given (ssh_config(5), IdentityFile).</summary>
    private static readonly string[] DefaultKeys = ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk"];

    /// <summary>True when an ssh agent is reachable: SSH_AUTH_SOCK names a socket that exists.</summary>
    public static bool AgentReachable() =>
        Environment.GetEnvironmentVariable("SSH_AUTH_SOCK") is { Length: > 0 } socket && File.Exists(socket);

    /// <summary>
    /// A sentence on what stands in the way of a login with no one to type a passphrase, or null: no agent,
    /// and the key (given, or ssh's defaults) protected by a passphrase.
    /// </summary>
    public static string? LoginHint(string? identityFile)
    {
        var agent = AgentReachable();
        var keys = identityFile is not null
            ? [identityFile]
            : DefaultKeys.Select(k => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", k)).Where(File.Exists).ToList();
        var protectedKeys = keys.Where(IsPassphraseProtected).ToList();
        if (agent || (keys.Count > 0 && protectedKeys.Count == 0))
        {
            return null; // an agent was there, or keys that need none were tried: the host refused them
        }

        var why = new StringBuilder(Environment.GetEnvironmentVariable("SSH_AUTH_SOCK") is { Length: > 0 } socket
            ? $"No ssh agent is reachable (SSH_AUTH_SOCK names {socket}, which does not exist)"
            : "No ssh agent is reachable (SSH_AUTH_SOCK is not set, as for a daemon started at boot by systemd)");
        if (protectedKeys.Count > 0)
        {
            why.Append($", and {string.Join(", ", protectedKeys)} {(protectedKeys.Count == 1 ? "is" : "are")} protected by a passphrase, which wsync never asks for");
        }
        else
        {
            why.Append(", and no key file was found for ssh to try");
        }

        return why.Append(". Use a key without a passphrase (-IdentityFile), or give the daemon an agent socket (see about_wsync, STARTING AT LOGIN); " +
            "wsync keeps retrying meanwhile.").ToString();
    }

    /// <summary>True when the private key file is encrypted (OpenSSH's format with a cipher other than "none", or an encrypted PEM key).</summary>
    public static bool IsPassphraseProtected(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        if (text.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            return true; // PEM: "Proc-Type: 4,ENCRYPTED" or "BEGIN ENCRYPTED PRIVATE KEY"
        }

        const string Begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
        const string End = "-----END OPENSSH PRIVATE KEY-----";
        var start = text.IndexOf(Begin, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        if (start < 0 || end < start)
        {
            return false;
        }

        try
        {
            // "openssh-key-v1\0", then the cipher's name as a length-prefixed string: "none" when not encrypted.
            var blob = Convert.FromBase64String(text[(start + Begin.Length)..end].Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal));
            var magic = "openssh-key-v1\0"u8;
            if (blob.Length < magic.Length + 4 || !blob.AsSpan(0, magic.Length).SequenceEqual(magic))
            {
                return false;
            }

            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(blob.AsSpan(magic.Length));
            return length is > 0 and < 64 && blob.Length >= magic.Length + 4 + length &&
                Encoding.ASCII.GetString(blob, magic.Length + 4, length) != "none";
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
