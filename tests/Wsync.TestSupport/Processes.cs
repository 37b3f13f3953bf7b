namespace Wsync.TestSupport;

/// <summary>Processes by pid, read from /proc: tests stop what they started by pid and check it is gone.</summary>
public static class Processes
{
    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The pids whose parent is <paramref name="pid"/>.</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var children = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var candidate))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(entry, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == pid)
                {
                    children.Add(candidate);
                }
            }
            catch (IOException)
            {
            }
        }

        return children;
    }

    /// <summary>Every process below <paramref name="pid"/> (children, their children, ...).</summary>
    public static IReadOnlyList<int> Descendants(int pid)
    {
        var found = new List<int>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0)
        {
            foreach (var child in Children(queue.Dequeue()))
            {
                found.Add(child);
                queue.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>Runs a program from an argument vector (never a shell) to completion: its exit code and stderr.</summary>
    public static (int ExitCode, string Error) Run(string file, IEnumerable<string> arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Result);
    }

    /// <summary><see cref="Run"/>, throwing with the program's stderr when it fails.</summary>
    public static void RunChecked(string file, IEnumerable<string> arguments)
    {
        var (exitCode, error) = Run(file, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({exitCode}): {error}");
        }
    }

    /// <summary>Every live wsync-monitor process (any parent) with <paramref name="fragment"/> (a workspace id, a home) in an argument.</summary>
    public static IReadOnlyList<int> Monitors(string fragment)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), out var pid)
                && Name(pid) is { } name && name.StartsWith("wsync-monitor", StringComparison.Ordinal)
                && CommandLine(pid).Any(argument => argument.Contains(fragment, StringComparison.Ordinal)) && IsAlive(pid))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary>Every live process named <paramref name="name"/> (comm) with <paramref name="argument"/> as one of its arguments.</summary>
    public static IReadOnlyList<int> Named(string name, string argument)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), out var pid) && Name(pid) == name && CommandLine(pid).Contains(argument) && IsAlive(pid))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary>The argument vector of a process (empty once it is gone).</summary>
    public static IReadOnlyList<string> CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>The executable name (comm) of a process, or null.</summary>
    public static string? Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Sends SIGKILL and waits (with a deadline) until the process is gone.</summary>
    public static void Kill(int pid)
    {
        if (!IsAlive(pid))
        {
            return;
        }

        try
        {
            System.Diagnostics.Process.GetProcessById(pid).Kill();
        }
        catch (ArgumentException)
        {
            return; // exited meanwhile
        }
        catch (InvalidOperationException)
        {
            return;
        }

        Poll.Until(() => !IsAlive(pid), TimeSpan.FromSeconds(10), $"process {pid} to die");
    }

    /// <summary>Sends SIGTERM (a polite stop); the caller waits for the exit.</summary>
    public static void Terminate(int pid)
    {
        if (IsAlive(pid))
        {
            _ = SendSignal(pid, 15);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
