using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>inotify running out of watches: a clear Failed state naming the sysctl, and Resume once raised.</summary>
[Collection(nameof(InotifyLimitCollection))]
public sealed class WatchLimitTests
{
    private const string WatchLimit = "/proc/sys/fs/inotify/max_user_watches";

    [Fact]
    public async Task Running_out_of_watches_fails_the_workspace_naming_the_sysctl_and_resume_recovers()
    {
        if (Environment.UserName != "root")
        {
            return; // only root can lower the limit; CI runs as root
        }

        await using var setup = await MirrorSetup.StartAsync("wl");
        var workspace = setup.Temp.CreateDirectory("web");
        for (var i = 0; i < 30; i++)
        {
            Directory.CreateDirectory(Path.Combine(workspace, $"d{i}"));
        }

        var mirror = setup.Temp.CreateDirectory("mirror");
        var original = File.ReadAllText(WatchLimit).Trim();
        try
        {
            File.WriteAllText(WatchLimit, (WatchesInUse() + 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
            await setup.AddWorkspaceAsync(workspace);

            Workspace? failed = null;
            await Poll.UntilAsync(async () =>
            {
                failed = (await setup.Client.Call(setup.Api.GetWorkspacesAsync(CancellationToken.None))).Single();
                return failed.State == WorkspaceState.Failed;
            }, MirrorSetup.Deadline, "the workspace to fail");
            Assert.Contains("fs.inotify.max_user_watches", failed!.StateReason);
            Assert.Contains("31 directories", failed.StateReason);
        }
        finally
        {
            File.WriteAllText(WatchLimit, original);
        }

        await setup.Client.Call(setup.Api.ResumeWorkspaceAsync("web", force: false, CancellationToken.None));
        await setup.ConnectLocalAsync("web", mirror);
        File.WriteAllText(Path.Combine(workspace, "d29", "after"), "x");
        var resumed = await setup.WaitAsync("web");

        Assert.Equal(WorkspaceState.Watching, resumed.State);
        Assert.Equal(31, resumed.WatchedDirectories);
        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    [Fact]
    public async Task Nearly_running_out_of_watches_warns_on_the_workspace_before_it_happens_and_mirroring_goes_on()
    {
        if (Environment.UserName != "root")
        {
            return; // only root can lower the limit; CI runs as root
        }

        await using var setup = await MirrorSetup.StartAsync("wn");
        var workspace = setup.Temp.CreateDirectory("web");
        for (var i = 0; i < 30; i++)
        {
            Directory.CreateDirectory(Path.Combine(workspace, $"d{i}"));
        }

        var original = File.ReadAllText(WatchLimit).Trim();
        Workspace? warned = null;
        try
        {
            // 31 watches needed, 33 left: past 90 % of the limit, not past the limit.
            File.WriteAllText(WatchLimit, (WatchesInUse() + 33).ToString(System.Globalization.CultureInfo.InvariantCulture));
            await setup.AddWorkspaceAsync(workspace);
            await Poll.UntilAsync(async () =>
            {
                warned = (await setup.Client.Call(setup.Api.GetWorkspacesAsync(CancellationToken.None))).Single();
                return warned.Warning is not null;
            }, MirrorSetup.Deadline, "the workspace to warn");
        }
        finally
        {
            File.WriteAllText(WatchLimit, original);
        }

        Assert.Equal(WorkspaceState.Watching, warned!.State);
        Assert.Equal(31, warned.WatchedDirectories);
        Assert.Contains("nearly used up", warned.Warning);
        Assert.Contains("sysctl fs.inotify.max_user_watches=", warned.Warning);
        var mirror = setup.Temp.CreateDirectory("mirror");
        await setup.ConnectLocalAsync("web", mirror);
        File.WriteAllText(Path.Combine(workspace, "d29", "after"), "x");
        await setup.WaitAsync("web");
        MirrorSetup.AssertMirrored(workspace, mirror);
    }

    /// <summary>Watches held by every inotify instance of the machine now (they count against the user's limit).</summary>
    private static int WatchesInUse()
    {
        var count = 0;
        foreach (var fdinfo in Directory.EnumerateDirectories("/proc").Select(p => Path.Combine(p, "fdinfo")))
        {
            try
            {
                foreach (var file in Directory.EnumerateFiles(fdinfo))
                {
                    count += File.ReadLines(file).Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
        }

        return count;
    }
}

/// <summary>Progress of full syncs, as Write-Progress shows it.</summary>
public sealed class ProgressTests
{
    [Fact]
    public async Task A_full_sync_reports_files_and_bytes_with_the_totals()
    {
        await using var setup = await MirrorSetup.StartAsync("mp");
        var workspace = setup.Temp.CreateDirectory("web");
        for (var i = 0; i < 2000; i++)
        {
            File.WriteAllText(Path.Combine(workspace, $"f{i}"), new string('x', 1000));
        }

        await setup.AddWorkspaceAsync(workspace);
        var reports = new List<SyncProgress>();
        var progress = new Collecting(reports);

        await setup.Client.Call(setup.Api.ConnectRemoteAsync(
            new ConnectRemoteRequest { Workspace = "web", Destination = setup.Temp.CreateDirectory("mirror"), WaitForInitialSync = true }, progress, CancellationToken.None));

        await Poll.UntilAsync(() => Task.FromResult(progress.Count > 0), MirrorSetup.Deadline, "progress reports to arrive");
        SyncProgress[] seen;
        lock (reports)
        {
            seen = [.. reports];
        }

        Assert.All(seen, report => Assert.Equal("mirror", report.Remote));
        Assert.Contains(seen, report => report.FilesTotal >= 2000 && report.BytesDone > 0);
        Assert.All(seen, report => Assert.InRange(report.Percent, 0, 100));
    }

    private sealed class Collecting(List<SyncProgress> reports) : IProgress<SyncProgress>
    {
        public int Count
        {
            get
            {
                lock (reports)
                {
                    return reports.Count;
                }
            }
        }

        public void Report(SyncProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
