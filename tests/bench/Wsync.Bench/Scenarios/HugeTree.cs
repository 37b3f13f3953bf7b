using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 11. A million files in 100,000 directories, on disk: the time to watch every directory (and the daemon's
/// answers meanwhile), Connect-WsyncRemote to InSync against one-shot rsync of the same tree, peak RSS, a single
/// edit against the same edit in a small workspace, and an inotify queue overflow in the middle of a flood,
/// back to InSync against a no-change one-shot rsync of the tree.
/// </summary>
internal static class HugeTree
{
    public const string Name = "11. A million files";

    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan Cap = TimeSpan.FromMinutes(30);

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var size = host.Size;
        var tree = host.LocalDirectory("huge", onDisk: true);
        var generation = Stopwatch.StartNew();
        Generate(tree, size.HugeDirectories, size.HugeFilesPerDirectory);
        var signature = TreeSignature.Of(tree);
        var directories = (int)signature.Directories + 1;
        var notes = new List<string>
        {
            $"{signature.Files:N0} files of 120 bytes in {directories:N0} directories, on disk ({DiskOf(host.DiskRoot)}), written in {generation.Elapsed.TotalSeconds:0} s; " +
            "`sync` before each timed step, so one step's writeback is not charged to the next.",
        };

        // The physical references: one-shot rsync of the tree to an empty directory, then again with nothing to do.
        var controlPath = host.StartMaster().ControlPath;
        var reference = host.RemoteDirectory("huge-rsync", onDisk: true);
        BenchHost.Flush();
        var oneShot = host.OneShotRsync(tree, reference, controlPath);
        BenchHost.Flush();
        var noChange = host.OneShotRsync(tree, reference, controlPath);

        // A small workspace on the same disk: what a single edit costs where the tree is no burden.
        using var probe = new LandingProbe();
        await using var small = await WsyncMirror.StartAsync(host, "huge-small", onDisk: true);
        probe.Watch(small.Remotes[0]);
        var smallMonitor = (await small.StatusAsync()).MonitorProcessId ?? throw new InvalidOperationException("no monitor pid");

        // Add-WsyncWorkspace: time until every directory is watched, asking the daemon all along.
        BenchHost.Flush();
        var answers = new List<double>();
        var start = Stopwatch.GetTimestamp();
        var adding = host.Wsync.Call(host.Wsync.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = tree, Name = "huge" }, CancellationToken.None));
        Workspace? status = null;
        double? added = null;
        while (status is null || status.WatchedDirectories < directories || !adding.IsCompleted)
        {
            if (added is null && adding.IsCompleted)
            {
                added = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }

            var asked = Stopwatch.GetTimestamp();
            status = (await host.Wsync.Call(host.Wsync.Daemon.GetWorkspacesAsync(CancellationToken.None))).SingleOrDefault(w => w.Name == "huge");
            answers.Add(Stopwatch.GetElapsedTime(asked).TotalMilliseconds);
            if (Stopwatch.GetElapsedTime(start) > Cap)
            {
                throw new TimeoutException($"{directories} directories not watched within {Cap.TotalMinutes} minutes");
            }

            await Task.Delay(10);
        }

        var watched = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        await adding;
        var monitor = status.MonitorProcessId ?? throw new InvalidOperationException("no monitor pid");
        var watchMegabytes = LargeTree.CurrentMegabytes(monitor);

        // Connect-WsyncRemote -Wait, with Get-WsyncRemote's progress looked at meanwhile; at full size a second
        // round (a second, empty remote, wsync first this time, then one-shot rsync to a fresh directory).
        var (remote, attachProgress, attach) = await AttachAsync(host, "huge-wsync", signature, tree);
        var attaches = new List<double> { attach };
        var oneShots = new List<double> { oneShot };
        if (!size.Smoke)
        {
            var (_, _, again) = await AttachAsync(host, "huge-wsync-2", signature, tree);
            attaches.Add(again);
            await host.Wsync.Call(host.Wsync.Daemon.DisconnectRemoteAsync("huge", "huge-wsync-2", CancellationToken.None));
            BenchHost.Flush();
            oneShots.Add(host.OneShotRsync(tree, host.RemoteDirectory("huge-rsync-2", onDisk: true), controlPath));
        }

        await using var huge = await WsyncMirror.AttachedAsync(host, "huge", tree, remote);
        probe.Watch(remote);
        await Contender.WaitLiveAsync(huge, probe, TimeSpan.FromSeconds(60));

        // Single edits, the small and the huge workspace taking turns.
        var edits = new Dictionary<string, List<double>> { ["small workspace"] = [], ["a million files"] = [] };
        for (var i = 0; i < Math.Max(size.Edits / 2, 2); i++)
        {
            edits["small workspace"].Add(await SingleEdit.EditAsync(small, probe, i));
            await Task.Delay(Gap);
            edits["a million files"].Add(await SingleEdit.EditAsync(huge, probe, i));
            await Task.Delay(Gap);
        }

        // Memory per pending change: the small workspace suspended (changes are still recorded) while files are written into its root.
        var perPending = await PendingBytesAsync(host, small, smallMonitor, size.FloodFiles);

        // The flood: the monitor is stopped (SIGSTOP) while a share of the tree is rewritten, created and deleted,
        // so its inotify queue overflows for certain; then it runs again and must reconcile everything.
        Syscall.Stop(monitor);
        var flooded = Flood(tree, size.FloodFiles, size.HugeDirectories);
        Syscall.Continue(monitor);
        start = Stopwatch.GetTimestamp();
        var recoveryProgress = await WatchRecoveryAsync(host, tree, remote);
        var recovery = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var after = TreeSignature.Of(tree);
        if (TreeSignature.Of(remote) != after)
        {
            throw new InvalidOperationException($"wsync reported InSync after the overflow but {remote} does not match {tree}");
        }

        var wrong = flooded.Where(p => !File.Exists(Path.Combine(remote, p)) || !File.ReadAllBytes(Path.Combine(tree, p)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(remote, p)))).ToList();
        if (wrong.Count > 0 || (size.Smoke && TreeSnapshot.Compare(tree, remote, p => p.StartsWith(".bench-", StringComparison.Ordinal)).Count > 0))
        {
            throw new InvalidOperationException($"after the overflow the remote differs: {string.Join(", ", wrong.Take(5))}");
        }

        host.OneShotRsync(tree, reference, controlPath);
        BenchHost.Flush();
        var noChangeAfter = host.OneShotRsync(tree, reference, controlPath);

        var monitorPeak = LargeTree.PeakMegabytes(monitor);
        var daemonPeak = LargeTree.PeakMegabytes(host.Daemon.ProcessId);
        var baseMegabytes = LargeTree.CurrentMegabytes(smallMonitor);
        var perDirectory = (watchMegabytes - baseMegabytes) * 1024 * 1024 / directories;
        var (smallEdits, hugeEdits) = (new Measurements(edits["small workspace"]), new Measurements(edits["a million files"]));
        var daemonAnswers = new Measurements(answers);
        var figures = new List<Figure>
        {
            new(Name, "attach to InSync", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new(attaches), [Contender.Rsync] = new(oneShots) }, Contender.Rsync),
            new(Name, "watch every directory", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new([watched]) }, null),
            new(Name, "Get-WsyncWorkspace (API) during watch set-up", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = daemonAnswers }, null),
            new(Name, "peak RSS, monitor", "MB", new Dictionary<string, Measurements> { [Contender.Wsync] = new([monitorPeak]) }, null),
            new(Name, "peak RSS, daemon (whole run so far)", "MB", new Dictionary<string, Measurements> { [Contender.Wsync] = new([daemonPeak]) }, null),
            new(Name, "single edit", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = hugeEdits, ["wsync, small workspace"] = smallEdits }, "wsync, small workspace"),
            new(Name, "overflow: back to InSync", "ms", new Dictionary<string, Measurements> { [Contender.Wsync] = new([recovery]), ["one-shot rsync -a, no change"] = new([noChangeAfter]) }, "one-shot rsync -a, no change"),
        };
        var goals = new List<Goal>
        {
            new(Name, "attach to InSync ≤ 1.05× one-shot rsync", new Measurements(attaches).Median / new Measurements(oneShots).Median, 1.05, "×"),
            new(Name, "every directory watched ≤ 10 s", watched / 1000, 10, "s"),
            new(Name, "monitor peak RSS ≤ 100 MB", monitorPeak, 100, "MB"),
            new(Name, "daemon peak RSS ≤ 30 MB", daemonPeak, 30, "MB"),
            new(Name, "single edit p50 ≤ 1.1× the small workspace's", hugeEdits.Median / smallEdits.Median, 1.1, "×"),
            new(Name, "overflow: back to InSync ≤ 1.1× a no-change one-shot rsync", recovery / noChangeAfter, 1.1, "×"),
            new(Name, "the daemon answers during watch set-up (worst round trip ≤ 50 ms)", daemonAnswers.Values[^1], 50, "ms"),
        };
        notes.Add($"One-shot rsync with nothing to do: {noChange:0} ms before the flood, {noChangeAfter:0} ms after it (the reference). " +
            $"The flood: {flooded.Count:N0} files rewritten, created or deleted across the tree while the monitor was stopped (SIGSTOP), so its inotify queue overflowed.");
        notes.Add($"Add-WsyncWorkspace returned after {added ?? watched:0} ms; every directory was watched after {watched:0} ms.");
        notes.Add($"Get-WsyncRemote showed progress during attach: {attachProgress}; during the recovery: {recoveryProgress}.");
        notes.Add($"Memory per pending change: {perPending:0} bytes (the small workspace's monitor RSS growth while suspended and {size.FloodFiles:N0} new files waited, garbage included); " +
            "by construction one dictionary entry per path and remote (24 B, up to 48 B with the table's growth) + the path as a .NET string (22 + 2 × length B, one copy shared by the remotes); " +
            "at most 100,000 paths per remote (past that they collapse into one \"full reconcile\" flag), so at most ≈ 17 MB per remote at 60-character paths.");
        notes.Add($"Memory per watched directory: {perDirectory:0} bytes (the monitor's RSS with every directory watched, less a small workspace's monitor, over {directories:N0} directories); " +
            "by construction ≈ 2 dictionary entries (2 × 24 B) + the relative path as a .NET string (22 + 2 × length B) ≈ 100 B at these 14-character names, " +
            "plus the kernel's own (about 1 KB per inotify watch, not in the RSS).");
        return new ScenarioResult(Name, figures, goals, notes);
    }

    /// <summary>Suspends the mirror's workspace, writes <paramref name="count"/> files into its root, and returns the monitor's RSS growth per file once all are pending.</summary>
    private static async Task<double> PendingBytesAsync(BenchHost host, WsyncMirror mirror, int monitor, int count)
    {
        await host.Wsync.Call(host.Wsync.Daemon.SuspendWorkspaceAsync(mirror.Name, CancellationToken.None));
        var before = LargeTree.CurrentMegabytes(monitor);
        for (var i = 0; i < count; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(mirror.Workspace, $"pending{i:D6}.txt"), [(byte)i]);
        }

        await Poll.UntilAsync(async () => (await mirror.StatusAsync()).PendingChanges >= count, Cap, $"{count} pending changes");
        var grown = LargeTree.CurrentMegabytes(monitor) - before;
        await host.Wsync.Call(host.Wsync.Daemon.ResumeWorkspaceAsync(mirror.Name, false, CancellationToken.None));
        return grown * 1024 * 1024 / count;
    }

    /// <summary>Connects an empty remote directory named <paramref name="name"/> to the huge workspace and waits for InSync: the directory, the progress seen, the time.</summary>
    private static async Task<(string Remote, string Progress, double Milliseconds)> AttachAsync(BenchHost host, string name, TreeSignature signature, string tree)
    {
        var remote = host.RemoteDirectory(name, onDisk: true);
        BenchHost.Flush();
        var start = Stopwatch.GetTimestamp();
        var connecting = host.Wsync.Call(host.Wsync.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = "huge",
            Destination = $"{host.Account.Name}@{host.Ssh.Host}:{remote}",
            Name = name,
            Port = host.Ssh.Port,
            IdentityFile = host.Ssh.IdentityFile,
            SshOptions = host.Ssh.SshOptions,
            WaitForInitialSync = true,
        }, null, CancellationToken.None));
        var progress = await WatchProgressAsync(host, connecting, name);
        var attach = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (TreeSignature.Of(remote) != signature)
        {
            throw new InvalidOperationException($"wsync reported InSync but {remote} does not match {tree}");
        }

        return (remote, progress, attach);
    }

    /// <summary>Polls the huge remote while the connect call runs; says what progress it saw.</summary>
    private static async Task<string> WatchProgressAsync(BenchHost host, Task connecting, string name)
    {
        SyncProgress? last = null;
        var seen = 0;
        while (!connecting.IsCompleted)
        {
            var remote = (await host.Wsync.Call(host.Wsync.Daemon.GetWorkspacesAsync(CancellationToken.None))).Single(w => w.Name == "huge").Remotes.SingleOrDefault(r => r.Name == name);
            if (remote?.Progress is { FilesDone: > 0 } progress)
            {
                (last, seen) = (progress, seen + 1);
            }

            await Task.WhenAny(connecting, Task.Delay(200));
        }

        await connecting;
        return Describe(last, seen);
    }

    /// <summary>
    /// Polls until the huge remote has reconciled (its progress seen, then InSync with nothing pending; or, had the
    /// queue not overflowed, InSync with the trees alike); says what progress it saw.
    /// </summary>
    private static async Task<string> WatchRecoveryAsync(BenchHost host, string tree, string remoteDirectory)
    {
        SyncProgress? last = null;
        var seen = 0;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var remote = (await host.Wsync.Call(host.Wsync.Daemon.GetWorkspacesAsync(CancellationToken.None))).Single(w => w.Name == "huge").Remotes.Single(r => r.Name == "huge-wsync");
            if (remote.Progress is { } progress)
            {
                (last, seen) = (progress, seen + 1);
            }

            if (remote is { State: RemoteState.InSync, PendingChanges: 0, Progress: null } && (last is not null || TreeSignature.Of(remoteDirectory) == TreeSignature.Of(tree)))
            {
                return Describe(last, seen);
            }

            if (clock.Elapsed > Cap)
            {
                throw new TimeoutException($"not back to InSync within {Cap.TotalMinutes} minutes after the overflow (state {remote.State}, {remote.PendingChanges} pending)");
            }

            await Task.Delay(20);
        }
    }

    private static string Describe(SyncProgress? last, int seen) => last is null
        ? "none"
        : $"{seen} looks, the last at {last.FilesDone:N0} files / {last.BytesDone:N0} bytes ({(last.Percent < 0 ? "total still counted" : last.Percent + " %")})";

    /// <summary>√n top directories of √n subdirectories each, <paramref name="perDirectory"/> files of 120 bytes in every subdirectory; two writers.</summary>
    private static void Generate(string root, int directories, int perDirectory)
    {
        var fanOut = (int)Math.Ceiling(Math.Sqrt(directories));
        Parallel.For(0, directories, new ParallelOptions { MaxDegreeOfParallelism = 2 }, () => new byte[120], (d, _, content) =>
        {
            var directory = Path.Combine(root, $"top{d / fanOut:D3}", $"sub{d % fanOut:D3}");
            Directory.CreateDirectory(directory);
            for (var f = 0; f < perDirectory; f++)
            {
                content[0] = (byte)f;
                content[1] = (byte)d;
                content[2] = (byte)(d >> 8);
                File.WriteAllBytes(Path.Combine(directory, $"file{f:D2}.txt"), content);
            }

            return content;
        }, _ => { });
    }

    /// <summary>
    /// Rewrites <paramref name="count"/> files spread over the tree, creates a tenth as many new ones and deletes a
    /// tenth; returns the rewritten and created paths (relative), whose content the remote must then hold.
    /// </summary>
    private static List<string> Flood(string root, int count, int directories)
    {
        var fanOut = (int)Math.Ceiling(Math.Sqrt(directories));
        var touched = new List<string>();
        var content = new byte[64];
        for (var i = 0; i < count; i++)
        {
            // Neighbouring writes in different directories: the kernel merges an event only into an identical last one.
            var d = count >= directories ? i % directories : (int)((long)i * directories / count);
            var directory = Path.Combine($"top{d / fanOut:D3}", $"sub{d % fanOut:D3}");
            Random.Shared.NextBytes(content);
            if (i % 10 == 1)
            {
                File.Delete(Path.Combine(root, directory, "file01.txt"));
                continue;
            }

            var name = Path.Combine(directory, i % 10 == 2 ? $"flood{i}.txt" : "file00.txt");
            File.WriteAllBytes(Path.Combine(root, name), content);
            touched.Add(name);
        }

        return touched;
    }

    /// <summary>The device and file system under <paramref name="path"/>, as findmnt says.</summary>
    private static string DiskOf(string path)
    {
        var start = new ProcessStartInfo("findmnt") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-n", "-o", "SOURCE,FSTYPE", "--target", path })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return string.Join(", ", output.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
