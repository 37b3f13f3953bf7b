namespace Wsync.Monitor.Sync;

/// <summary>Quoting for the remote POSIX shell: every operand single-quoted, so it is data, never code.</summary>
internal static class RemoteShell
{
    /// <summary>'…' with each ' written as '\''; a leading ~/ stays outside the quotes so the shell expands it.</summary>
    public static string Quote(string value)
    {
        if (value == "~")
        {
            return "~";
        }

        if (value.StartsWith("~/", StringComparison.Ordinal))
        {
            return "~/" + Quote(value[2..]);
        }

        return "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
