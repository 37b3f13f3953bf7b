using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Wsync.Platform;

/// <summary>
/// Ending what a process started. Each monitor leads a process group of its own, which its rsync and ssh
/// children join (they never change group), so the daemon ends everything a monitor left behind, orphans
/// included, with one signal to the group.
///
/// <see cref="Kill"/> kills a process and its descendants with SIGKILL alone. Process.Kill(entireProcessTree)
/// SIGSTOPs each process, lists its children, then SIGKILLs it: a killer that is itself killed in between
/// (a monitor ending its rsync while the next daemon kills that monitor) leaves a descendant stopped for
/// good, which no rsync --timeout ever ends. Here nothing is ever stopped: a child forked after the listing
/// escapes, but it runs, and ends at the end of its input like every rsync and ssh wsync starts.
/// </summary>
public static partial class ProcessTree
{
    private const int SigKill = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "setpgid", SetLastError = true)]
    private static partial int SetProcessGroup(int pid, int group);

    /// <summary>Makes the calling process the leader of a new process group, which every child it starts from now on joins.</summary>
    public static bool BecomeGroupLeader() => SetProcessGroup(0, 0) == 0;

    /// <summary>
    /// SIGKILLs every process of the group <paramref name="leader"/> leads or led. While any member lives
    /// the kernel does not hand the group's id out as a new pid, so after the leader has gone the signal
    /// still reaches only what it started, orphans included. Call it as soon as the leader has exited:
    /// once the group is empty its id is an ordinary free pid again.
    /// </summary>
    public static void KillGroup(int leader)
    {
        if (leader > 1)
        {
            SendSignal(-leader, SigKill);
        }
    }

    /// <summary>SIGKILLs <paramref name="process"/>, then every descendant it had; quiet when it has exited.</summary>
    public static void Kill(Process process)
    {
        int root;
        try
        {
            if (process.HasExited)
            {
                return;
            }

            root = process.Id;
        }
        catch (InvalidOperationException)
        {
            return;
        }

        // Listed before the root dies: its orphans are re-parented and could no longer be found.
        var descendants = ProcFs.Descendants(root);
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
        }

        foreach (var pid in descendants)
        {
            SendSignal(pid, SigKill);
        }
    }
}
