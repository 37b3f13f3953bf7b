using System.Diagnostics;
using Wsync.Monitor.Watching;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

public sealed class PathFilterTests : IDisposable
{
    private readonly TempDirectory temp = new("pf");

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("*.o", "main.o", false, true)]
    [InlineData("*.o", "src/deep/main.o", false, true)]
    [InlineData("*.o", "main.oo", false, false)]
    [InlineData("build/", "build", true, true)]
    [InlineData("build/", "build", false, false)]
    [InlineData("build/", "a/build", true, true)]
    [InlineData("/dist", "dist", true, true)]
    [InlineData("/dist", "a/dist", true, false)]
    [InlineData("a/*.tmp", "a/x.tmp", false, true)]
    [InlineData("a/*.tmp", "q/a/x.tmp", false, true)]
    [InlineData("a/*.tmp", "a/b/x.tmp", false, false)]
    [InlineData("**/node_modules", "x/y/node_modules", true, true)]
    [InlineData("cache?", "cache1", true, true)]
    [InlineData("[ab].txt", "b.txt", false, true)]
    [InlineData("[!ab].txt", "b.txt", false, false)]
    public void Rsync_patterns_match_like_rsync(string pattern, string path, bool isDirectory, bool excluded)
    {
        var filter = PathFilter.For(temp.Path, [pattern], useGitIgnore: false);

        Assert.Equal(excluded, filter.IsExcluded(path, isDirectory));
    }

    [Fact]
    public void GitIgnore_files_apply_below_their_directory_with_the_last_line_and_the_deepest_file_winning()
    {
        File.WriteAllText(temp.Combine(".gitignore"), "*.log\n/out\nsecret/\n");
        Directory.CreateDirectory(temp.Combine("lib"));
        File.WriteAllText(temp.Combine("lib", ".gitignore"), "!keep.log\ngen/*.c\n");

        var filter = PathFilter.For(temp.Path, [], useGitIgnore: true);

        Assert.True(filter.IsExcluded("a.log", false));
        Assert.True(filter.IsExcluded("lib/deep/x.log", false));
        Assert.False(filter.IsExcluded("lib/keep.log", false));
        Assert.True(filter.IsExcluded("out", true));
        Assert.False(filter.IsExcluded("lib/out", true));
        Assert.True(filter.IsExcluded("lib/x/secret", true));
        Assert.True(filter.IsExcluded("lib/gen/a.c", false));
        Assert.False(filter.IsExcluded("gen/a.c", false));
    }

    [Fact]
    public void What_the_filter_excludes_is_exactly_what_rsync_leaves_out_with_the_generated_rules()
    {
        var source = temp.CreateDirectory("src");
        string[] files =
        [
            "a.log", "keep.txt", "out/bin", "lib/keep.log", "lib/x.log", "lib/gen/a.c", "gen/a.c", "lib/sub/secret/s",
            "node_modules/m/index.js", "deep/node_modules/n.js", "tmp/x.o", "doc/readme.md", ".gitignore", "lib/.gitignore",
        ];
        foreach (var file in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(source, file))!);
            File.WriteAllText(Path.Combine(source, file), file);
        }

        File.WriteAllText(Path.Combine(source, ".gitignore"), "*.log\n/out\nsecret/\n");
        File.WriteAllText(Path.Combine(source, "lib", ".gitignore"), "!keep.log\ngen/*.c\n");
        var filter = PathFilter.For(source, ["node_modules/", "*.o"], useGitIgnore: true);
        var rules = temp.Combine("rules");
        File.WriteAllText(rules, filter.ToRsyncRules());
        var mirror = temp.CreateDirectory("mirror");

        var rsync = Process.Start(new ProcessStartInfo("rsync") { ArgumentList = { "-rlpt", $"--filter=. {rules}", source + "/", mirror + "/" } })!;
        rsync.WaitForExit();

        Assert.Equal(0, rsync.ExitCode);
        var expected = TreeSnapshot.Capture(source, path => IsExcludedWithAncestors(filter, source, path)).Entries.Keys;
        Assert.Equal(expected, TreeSnapshot.Capture(mirror).Entries.Keys);
        Assert.DoesNotContain("lib/x.log", expected);
        Assert.Contains("lib/keep.log", expected);
    }

    private static bool IsExcludedWithAncestors(PathFilter filter, string root, string path)
    {
        var parts = path.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            var prefix = string.Join('/', parts[..i]);
            if (filter.IsExcluded(prefix, Directory.Exists(Path.Combine(root, prefix))))
            {
                return true;
            }
        }

        return false;
    }
}
