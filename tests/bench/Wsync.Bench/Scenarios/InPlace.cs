using System.Diagnostics;

namespace Wsync.Bench.Scenarios;

/// <summary>
/// 12. A large file changed in place: 1 MB rewritten in the middle of a 2 GB file of random bytes, on disk. wsync
/// against one-shot rsync of the same change: the time until the remote holds it, and the bytes that went to
/// the remote (through a counting relay in front of sshd, so everything ssh carried counts).
/// </summary>
internal static class InPlace
{
    public const string Name = "12. A large file changed in place";

    private const int Chunk = 1 << 20;

    private static readonly TimeSpan Cap = TimeSpan.FromMinutes(10);

    public static async Task<ScenarioResult> RunAsync(BenchHost host)
    {
        var size = host.Size.LargeFile;
        using var proxy = new CountingProxy(host.Ssh.Port);
        host.Ssh.TrustPort(proxy.Port);
        var workspace = host.LocalDirectory("inplace-wsync", onDisk: true);
        var source = host.LocalDirectory("inplace-rsync", onDisk: true);
        var file = Path.Combine(workspace, "large.img");
        var sourceFile = Path.Combine(source, "large.img");
        WriteRandom(file, size);
        File.Copy(file, sourceFile);

        var controlPath = host.StartMaster(proxy.Port).ControlPath;
        var reference = host.RemoteDirectory("inplace-rsync", onDisk: true);
        host.OneShotRsync(source, reference, controlPath, proxy.Port);
        await using var mirror = await WsyncMirror.StartAsync(host, "inplace-wsync", workspace: workspace, port: proxy.Port, onDisk: true);
        var remoteFile = Path.Combine(mirror.Remotes[0], "large.img");

        var times = new Dictionary<string, List<double>> { [Contender.Wsync] = [], [Contender.Rsync] = [] };
        var bytes = new Dictionary<string, List<double>> { [Contender.Wsync] = [], [Contender.Rsync] = [] };
        var change = new byte[Chunk];
        for (var round = 0; round < host.Size.InPlaceRounds; round++)
        {
            Random.Shared.NextBytes(change);
            var offset = size / 2 + round * 4L * Chunk;
            foreach (var contender in round % 2 == 0 ? new[] { Contender.Wsync, Contender.Rsync } : [Contender.Rsync, Contender.Wsync])
            {
                BenchHost.Flush();
                await Quiet(mirror);
                var before = proxy.BytesSent;
                var clock = Stopwatch.StartNew();
                if (contender == Contender.Wsync)
                {
                    Rewrite(file, offset, change);
                    await LandedAsync(file, remoteFile, offset, change);
                    times[contender].Add(clock.Elapsed.TotalMilliseconds);
                    await Quiet(mirror);
                }
                else
                {
                    Rewrite(sourceFile, offset, change);
                    host.OneShotRsync(source, reference, controlPath, proxy.Port);
                    times[contender].Add(clock.Elapsed.TotalMilliseconds);
                }

                bytes[contender].Add((proxy.BytesSent - before) / 1e6);
            }
        }

        var (wsyncTime, rsyncTime) = (new Measurements(times[Contender.Wsync]), new Measurements(times[Contender.Rsync]));
        var wsyncBytes = new Measurements(bytes[Contender.Wsync]);
        var figures = new List<Figure>
        {
            new(Name, "time until the remote holds the change", "ms", times.ToDictionary(t => t.Key, t => new Measurements(t.Value)), Contender.Rsync),
            new(Name, "bytes sent to the remote", "MB", bytes.ToDictionary(b => b.Key, b => new Measurements(b.Value)), Contender.Rsync),
        };
        var goals = new List<Goal>
        {
            new(Name, "bytes sent ≤ 2 MB (rsync's delta)", wsyncBytes.Values[^1], 2, "MB"),
            new(Name, "time ≤ 1.2× one-shot rsync of the change", wsyncTime.Median / rsyncTime.Median, 1.2, "×"),
        };
        var notes = new List<string>
        {
            $"A {size >> 20} MiB file of random bytes on disk; {host.Size.InPlaceRounds} rounds, each 1 MiB of new random bytes written in place near the middle " +
            "(the contenders taking turns, the order alternating, `sync` before each). Landing = the remote file has the local mtime and the new bytes. " +
            "Bytes are what went from the client to sshd through a counting relay, ssh's framing included.",
        };
        return new ScenarioResult(Name, figures, goals, notes);
    }

    private static void WriteRandom(string path, long size)
    {
        var chunk = new byte[Chunk];
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, Chunk);
        for (long written = 0; written < size; written += Chunk)
        {
            Random.Shared.NextBytes(chunk);
            stream.Write(chunk, 0, (int)Math.Min(Chunk, size - written));
        }
    }

    private static void Rewrite(string path, long offset, byte[] change)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Position = offset;
        stream.Write(change);
    }

    /// <summary>Polls (every 5 ms) until the remote file has the local one's mtime and holds <paramref name="change"/> at <paramref name="offset"/>.</summary>
    private static async Task LandedAsync(string local, string remote, long offset, byte[] change)
    {
        var read = new byte[change.Length];
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (File.GetLastWriteTimeUtc(remote) == File.GetLastWriteTimeUtc(local))
                {
                    using var stream = new FileStream(remote, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                    stream.Position = offset;
                    stream.ReadExactly(read);
                    if (read.AsSpan().SequenceEqual(change))
                    {
                        return;
                    }
                }
            }
            catch (IOException)
            {
                // replaced while looking: look again
            }

            if (clock.Elapsed > Cap)
            {
                throw new TimeoutException($"the change to {local} did not reach {remote} within {Cap.TotalMinutes} minutes");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Waits until the remote is InSync with nothing pending (so the bytes counted are all of one change).</summary>
    private static Task Quiet(WsyncMirror mirror) => global::Wsync.TestSupport.Poll.UntilAsync(async () =>
        (await mirror.StatusAsync()).Remotes.Single() is { State: RemoteState.InSync, PendingChanges: 0 }, Cap, "the remote to be InSync");
}
