using System.Diagnostics;
using Wsync.Monitor.Sync;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>rsync's stdout as the monitor reads it: the statistics and the progress of a real run.</summary>
public sealed class RsyncOutputTests : IDisposable
{
    private const int Files = 3000;

    private readonly TempDirectory temp = new("ro");

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task A_full_run_with_progress_reports_its_statistics_and_ends_at_every_file()
    {
        var source = FillSource();
        var target = temp.Combine("target");
        var lines = new List<string>();
        var arguments = new List<string>(RsyncCommand.Common) { "--info=progress2", "--", source + "/", target };

        var result = await Rsync.RunAsync(arguments, null, lines.Add, CancellationToken.None);

        Assert.Equal(SendOutcome.Success, result.Outcome);
        Assert.Equal(Files, result.FilesTransferred);
        Assert.True(result.BytesSent > Files * 100L, $"{result.BytesSent} bytes sent");
        var last = Rsync.ParseProgress(Assert.IsType<string>(lines.LastOrDefault()), "r");
        Assert.NotNull(last);
        Assert.Equal(100, last.Percent);
        Assert.Equal(last.FilesTotal, last.FilesDone);
        Assert.True(last.FilesTotal >= Files, $"{last.FilesTotal} files counted");
    }

    [Fact]
    public void Lines_split_anywhere_between_reads_parse_the_same()
    {
        var source = FillSource();
        var output = RunRsync(source, temp.Combine("target"));
        var whole = new OutputParser();
        whole.Feed(output);
        var expectedProgress = whole.TakeProgress();
        Assert.Equal(Files, whole.FilesTransferred);
        Assert.NotNull(expectedProgress);

        foreach (var chunk in new[] { 1, 7, 80, 4096 })
        {
            var split = new OutputParser();
            string? progress = null;
            for (var offset = 0; offset < output.Length; offset += chunk)
            {
                split.Feed(output.AsSpan(offset, Math.Min(chunk, output.Length - offset)));
                progress = split.TakeProgress() ?? progress;
            }

            Assert.Equal((whole.BytesSent, whole.FilesTransferred), (split.BytesSent, split.FilesTransferred));
            Assert.Equal(expectedProgress, progress);
        }
    }

    private string FillSource()
    {
        var source = temp.CreateDirectory("source");
        for (var i = 0; i < Files; i++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(source, $"d{i / 100}")).FullName;
            File.WriteAllText(Path.Combine(directory, $"f{i}"), new string('x', 100 + i % 50));
        }

        return source;
    }

    /// <summary>The raw stdout of the monitor's full-reconcile rsync, as bytes.</summary>
    private static byte[] RunRsync(string source, string target)
    {
        var start = new ProcessStartInfo("rsync") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in RsyncCommand.Common.Concat(["--info=progress2", "--", source + "/", target]))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output.ToArray();
    }

    [Fact]
    public void A_progress_line_without_file_counts_keeps_the_last_counts()
    {
        var counted = Rsync.ParseProgress("            122   0%    0.00kB/s    0:00:00 (xfr#1, ir-chk=1000/1294)", "r");
        var bytesOnly = Rsync.ParseProgress("        680,192   0%   11.23MB/s    0:00:00  ", "r");
        Assert.NotNull(counted);
        Assert.NotNull(bytesOnly);
        Assert.Equal(0, bytesOnly.FilesTotal);

        var shown = Rsync.Continue(counted, bytesOnly);
        Assert.Equal((680_192L, 294L, 1294L), (shown.BytesDone, shown.FilesDone, shown.FilesTotal));
        Assert.Same(counted, Rsync.Continue(null, counted));
    }
}
