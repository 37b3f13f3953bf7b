using System.Globalization;
using System.Text.RegularExpressions;

namespace Wsync;

/// <summary>
/// Where a remote lives: a local directory, or a directory on an ssh host. Parsed from the forms
/// <c>/abs/path</c>, <c>[user@]host:path</c> and <c>ssh://[user@]host[:port]/path</c>, following rsync's
/// rule that a colon before the first slash names a host.
/// </summary>
public sealed partial record Destination
{
    private Destination(RemoteKind kind, string path, string? host, string? user, int? port)
    {
        Kind = kind;
        Path = path;
        Host = host;
        User = user;
        Port = port;
    }

    public RemoteKind Kind { get; }

    /// <summary>Absolute for local destinations; for ssh, absolute or relative to the remote home.</summary>
    public string Path { get; }

    /// <summary>Host name or address, without IPv6 brackets.</summary>
    public string? Host { get; }

    public string? User { get; }

    public int? Port { get; }

    /// <summary>The argument ssh takes: <c>user@host</c> or <c>host</c>.</summary>
    public string SshTarget => User is null ? Host! : $"{User}@{Host}";

    /// <summary>The host as rsync and the canonical form write it (IPv6 in brackets).</summary>
    private string? BracketedHost => Host is not null && Host.Contains(':') ? $"[{Host}]" : Host;

    /// <summary>The remote name used when the user gives none.</summary>
    public string DefaultName => Kind == RemoteKind.Ssh
        ? Host!
        : System.IO.Path.GetFileName(Path.TrimEnd('/')) is { Length: > 0 } leaf ? leaf : "root";

    /// <summary>The canonical form stored in the workspace file; <see cref="Parse"/> reads it back unchanged.</summary>
    public override string ToString() => Kind == RemoteKind.Local
        ? Path
        : (User is null ? "" : User + "@") + BracketedHost + ":" + Path;

    /// <summary>The rsync operand for the mirror's root directory, with the trailing slash rsync needs.</summary>
    public string RsyncRoot => (Kind == RemoteKind.Local ? Path : (User is null ? "" : User + "@") + BracketedHost + ":" + Path).TrimEnd('/') + "/";

    public static Destination Local(string absolutePath) => new(RemoteKind.Local, NormalizeLocal(absolutePath), null, null, null);

    /// <summary>Parses a destination; <paramref name="port"/> is -Port, which must agree with a port in the URL.</summary>
    /// <exception cref="WsyncException">DestinationInvalid or PortInvalid, naming the value.</exception>
    public static Destination Parse(string text, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (port is not null)
        {
            CheckPort(port.Value, port.Value.ToString(CultureInfo.InvariantCulture));
        }

        if (text.Length == 0 || text.Trim().Length == 0)
        {
            throw Invalid(text, "the destination is empty. Give /abs/path, [user@]host:path or ssh://[user@]host[:port]/path.");
        }

        if (text.Any(char.IsControl))
        {
            throw Invalid(text, "the destination contains a control character (a newline or tab?).");
        }

        if (text.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase))
        {
            return ParseUrl(text, port);
        }

        var colon = IndexOfHostColon(text);
        if (colon < 0)
        {
            if (!text.StartsWith('/'))
            {
                throw Invalid(text, "a local destination must be an absolute path; use [user@]host:path for an ssh host.");
            }

            if (port is not null)
            {
                throw new WsyncException(ErrorIds.PortInvalid, WsyncErrorCategory.InvalidArgument, text,
                    $"-Port applies to ssh destinations only, and '{text}' is a local directory.");
            }

            return Local(text);
        }

        var (user, host) = ParseUserHost(text[..colon], text);
        var path = text[(colon + 1)..];
        if (path.Length == 0)
        {
            throw Invalid(text, $"no path after the colon: write {text}/path/to/dir (or {text}dir, relative to the remote home).");
        }

        return new Destination(RemoteKind.Ssh, NormalizeRemote(path), host, user, port);
    }

    private static Destination ParseUrl(string text, int? port)
    {
        var rest = text["ssh://".Length..];
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            throw Invalid(text, "an ssh:// destination needs a host and an absolute path: ssh://[user@]host[:port]/path.");
        }

        var authority = rest[..slash];
        var path = rest[slash..];
        if (path.Length <= 1 && path == "/")
        {
            path = "/";
        }

        int? urlPort = null;
        var portColon = authority.LastIndexOf(':');
        if (portColon >= 0 && !authority.EndsWith(']'))
        {
            var portText = authority[(portColon + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw new WsyncException(ErrorIds.PortInvalid, WsyncErrorCategory.InvalidArgument, text,
                    $"'{portText}' in '{text}' is not a port number (1-65535).");
            }

            CheckPort(parsed, text);
            urlPort = parsed;
            authority = authority[..portColon];
        }

        if (urlPort is not null && port is not null && urlPort != port)
        {
            throw new WsyncException(ErrorIds.PortInvalid, WsyncErrorCategory.InvalidArgument, text,
                $"the destination names port {urlPort} and -Port says {port}; give one of them.");
        }

        var (user, host) = ParseUserHost(authority, text);
        return new Destination(RemoteKind.Ssh, NormalizeRemote(path), host, user, urlPort ?? port);
    }

    private static (string? User, string Host) ParseUserHost(string userHost, string text)
    {
        string? user = null;
        var host = userHost;
        var at = userHost.LastIndexOf('@');
        if (at >= 0)
        {
            user = userHost[..at];
            host = userHost[(at + 1)..];
            if (!UserPattern().IsMatch(user))
            {
                throw Invalid(text, user.Length == 0
                    ? "the user name before '@' is empty."
                    : $"'{user}' is not a valid user name (letters, digits, '.', '_' and '-', not starting with '-').");
            }
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            var address = host[1..^1];
            if (!System.Net.IPAddress.TryParse(address, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                throw Invalid(text, $"'{host}' is not an IPv6 address.");
            }

            return (user, address);
        }

        if (host.Length == 0)
        {
            throw Invalid(text, "the host name is empty.");
        }

        if (!HostPattern().IsMatch(host))
        {
            throw Invalid(text, $"'{host}' is not a valid host name (letters, digits, '.', '_' and '-', not starting with '-').");
        }

        return (user, host);
    }

    /// <summary>The colon that separates host from path, or -1 for a local path (rsync's rule).</summary>
    private static int IndexOfHostColon(string text)
    {
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '/' when depth == 0:
                    return -1;
                case '[':
                    depth++;
                    break;
                case ']':
                    depth--;
                    break;
                case ':' when depth == 0:
                    return i;
            }
        }

        return -1;
    }

    private static void CheckPort(int port, string target)
    {
        if (port is < 1 or > 65535)
        {
            throw new WsyncException(ErrorIds.PortInvalid, WsyncErrorCategory.InvalidArgument, target,
                $"port {port} is outside 1-65535.");
        }
    }

    private static string NormalizeLocal(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    private static string NormalizeRemote(string path) => path.Length > 1 ? path.TrimEnd('/') is { Length: > 0 } p ? p : "/" : path;

    private static WsyncException Invalid(string text, string why) =>
        new(ErrorIds.DestinationInvalid, WsyncErrorCategory.InvalidArgument, text, $"Invalid destination '{text}': {why}");

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._-]*$")]
    private static partial Regex UserPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._-]*$")]
    private static partial Regex HostPattern();
}
