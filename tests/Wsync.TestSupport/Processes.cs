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
}
