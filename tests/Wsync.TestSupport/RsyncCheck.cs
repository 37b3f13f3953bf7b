using System.Diagnostics;

namespace Wsync.TestSupport;

/// <summary>Asks real rsync whether a mirror is what wsync's full reconcile would leave.</summary>
public static class RsyncCheck
{
    /// <summary>
    /// What a full reconcile (rsync -rlpt --delete, as wsync runs it) would still change to make
    /// <paramref name="mirror"/> equal to <paramref name="source"/>: one itemized line per path (content, mode,
    /// modification time to the nanosecond, link target, presence), none when there is nothing to do.
    /// </summary>
    public static IReadOnlyList<string> Differences(string source, string mirror, params string[] excludes)
    {
        var start = new ProcessStartInfo("rsync") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-rlpt", "--delete", "--dry-run", "--itemize-changes", "--out-format=%i %n%L", "--modify-window=-1"])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var exclude in excludes)
        {
            start.ArgumentList.Add("--exclude=" + exclude);
        }

        start.ArgumentList.Add(source.TrimEnd('/') + "/");
        start.ArgumentList.Add(mirror.TrimEnd('/') + "/");
        using var rsync = Process.Start(start)!;
        var errors = rsync.StandardError.ReadToEndAsync();
        var output = rsync.StandardOutput.ReadToEnd();
        rsync.WaitForExit();
        if (rsync.ExitCode != 0)
        {
            throw new InvalidOperationException($"rsync --dry-run exited {rsync.ExitCode}: {errors.Result}");
        }

        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
