using System.Globalization;
using Wsync.TestSupport;
using Xunit.Abstractions;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Issue 18's acceptance: a large tree mirrored over ssh (through the agent) and churned, with the monitor's
/// inotify queue overflowing in the middle of it, ends exact on the remote. <c>WSYNC_ACCEPTANCE_FILES</c> sets the
/// size: 100,000 files in build.ps1 Acceptance; the suite runs it at 3,000.
/// </summary>
[Collection(nameof(InotifyLimitCollection))]
public sealed class LargeTreeTests(SshFixture ssh, ITestOutputHelper output) : IClassFixture<SshFixture>
{
    private const int FilesPerDirectory = 10;

    private const int Seed = 18;

    /// <summary>From this size on, the reconcile lasts long enough for progress to be seen for certain (rsync reports it every 50 ms).</summary>
    private const int ProgressVisibleFrom = 20_000;

    private static int Files =>
        Environment.GetEnvironmentVariable("WSYNC_ACCEPTANCE_FILES") is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : 3_000;

    [Fact]
    public async Task A_large_tree_with_an_overflow_in_the_middle_of_churn_ends_exact_on_the_remote()
    {
        await using var setup = await MirrorSetup.StartAsync("lt");
        var workspace = setup.Temp.CreateDirectory("big");
        var mirror = setup.Temp.Combine("mirror");
        var directories = Generate(workspace, Files / FilesPerDirectory);
        var deadline = TimeSpan.FromSeconds(60 + Files / 500);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await setup.AddWorkspaceAsync(workspace);
        await setup.ConnectSshAsync("big", ssh.Server, mirror);
        output.WriteLine($"{Files} files in {directories.Count} directories attached in {clock.ElapsedMilliseconds} ms");

        var churn = new Churn(workspace, Seed);
        churn.Run(150);

        // The monitor stands still (as one that is busy) while the churn and a flood go on: its queue overflows
        // for certain, whatever the limit (every flood step queues four events).
        var monitor = (await setup.WorkspaceAsync("big")).MonitorProcessId ?? throw new InvalidOperationException("no monitor");
        Syscall.Stop(monitor);
        try
        {
            churn.Run(150);
            Rewrite(workspace, directories, every: 7);
            churn.Flood(InotifyQueue.Current / 2 + 1_000);
        }
        finally
        {
            Syscall.Continue(monitor);
        }

        // Changes go on while the monitor reconciles; Get-WsyncRemote shows how far the reconcile has got.
        using var converged = new CancellationTokenSource();
        var progress = WatchProgressAsync(setup, converged.Token);
        churn.Run(150);
        Rewrite(workspace, directories, every: 11);
        clock.Restart();
        await setup.WaitAsync("big", deadline);
        await converged.CancelAsync();
        var seen = await progress;
        output.WriteLine($"converged {clock.ElapsedMilliseconds} ms after the churn; progress seen: {seen}");

        MirrorSetup.AssertMirrored(workspace, mirror);
        if (Files >= ProgressVisibleFrom)
        {
            Assert.True(seen is { FilesDone: > 0 }, "Get-WsyncRemote showed no progress while the remote was reconciled after the overflow");
        }

        var log = string.Join('\n', Directory.GetFiles(Path.Combine(setup.Daemon.Home, "logs"), "monitor-*").Select(File.ReadAllText));
        Assert.Contains("overflowed; reconciling everything", log);
    }

    /// <summary>Looks at the remote until everything is on it (<paramref name="converged"/>); the last progress it showed, or null.</summary>
    private static async Task<SyncProgress?> WatchProgressAsync(MirrorSetup setup, CancellationToken converged)
    {
        SyncProgress? seen = null;
        while (!converged.IsCancellationRequested)
        {
            seen = (await setup.WorkspaceAsync("big")).Remotes.Single().Progress ?? seen;
            await Task.Delay(10, CancellationToken.None);
        }

        return seen;
    }

    /// <summary>√n top directories of √n subdirectories, ten files each (some executable, a symlink among them); returns the subdirectories.</summary>
    private static List<string> Generate(string root, int count)
    {
        var fanOut = (int)Math.Ceiling(Math.Sqrt(count));
        var made = new List<string>();
        for (var d = 0; d < count; d++)
        {
            var directory = Path.Combine($"top{d / fanOut:D3}", $"sub{d % fanOut:D3}");
            Directory.CreateDirectory(Path.Combine(root, directory));
            for (var f = 0; f < FilesPerDirectory - 1; f++)
            {
                var file = Path.Combine(root, directory, $"file{f}.txt");
                File.WriteAllText(file, $"{directory} {f}\n");
                if (f == 0)
                {
                    File.SetUnixFileMode(file, (UnixFileMode)0x1ED); // 0755
                }
            }

            File.CreateSymbolicLink(Path.Combine(root, directory, "link"), "file1.txt");
            made.Add(directory);
        }

        return made;
    }

    /// <summary>Rewrites one file in every <paramref name="every"/>th directory, removes another, and makes one new.</summary>
    private static void Rewrite(string root, List<string> directories, int every)
    {
        for (var d = 0; d < directories.Count; d += every)
        {
            var directory = Path.Combine(root, directories[d]);
            File.WriteAllText(Path.Combine(directory, "file2.txt"), $"rewritten, every {every}\n");
            File.Delete(Path.Combine(directory, $"file{3 + (every % 5)}.txt"));
            File.WriteAllText(Path.Combine(directory, $"new{every}.txt"), "new\n");
        }
    }
}
