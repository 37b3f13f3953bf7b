using System.Diagnostics;
using Wsync.TestSupport;
using Wsync.Platform;

namespace Wsync.Tests.Platform;

/// <summary>
/// ProcessTree.Kill, which ends rsync and ssh children and leftover monitors: the whole tree goes, and no
/// process in it is ever stopped, so a killer killed half way (a monitor ending its rsync while the next
/// daemon kills that monitor) cannot leave one stopped for good.
/// </summary>
public sealed class ProcessTreeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Kill_ends_the_process_its_children_and_grandchildren_and_never_stops_any_of_them()
    {
        using var root = Process.Start(new ProcessStartInfo("sh", ["-c", "sh -c 'sleep 300 & sleep 300 & wait' & wait"]))!;
        IReadOnlyList<int> tree = [];
        Poll.Until(() => (tree = Processes.Descendants(root.Id)).Count == 3, Deadline, "sh, sh and two sleeps to start");
        int[] all = [root.Id, .. tree];

        // Watches every member's state while the kill runs: a SIGSTOP shows as 'T' for as long as the
        // killer takes to list the children, which Process.Kill(entireProcessTree) does under SIGSTOP.
        var stopped = new List<int>();
        using var done = new CancellationTokenSource();
        var watcher = Task.Factory.StartNew(() =>
        {
            while (!done.IsCancellationRequested)
            {
                stopped.AddRange(all.Where(pid => State(pid) == 'T'));
            }
        }, TaskCreationOptions.LongRunning);

        ProcessTree.Kill(root);
        Poll.Until(() => !all.Any(Processes.IsAlive), Deadline, "every process of the tree to end");
        done.Cancel();
        await watcher;

        Assert.Empty(stopped.Distinct());
        Assert.True(root.HasExited);
    }

    [Fact]
    public void Kill_of_a_process_that_has_exited_is_quiet()
    {
        using var process = Process.Start(new ProcessStartInfo("true"))!;
        process.WaitForExit();

        ProcessTree.Kill(process);

        Assert.Equal(0, process.ExitCode);
    }

    /// <summary>The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z', ...), or '-' once it is gone.</summary>
    private static char State(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return '-';
        }
    }
}
