using System.Diagnostics;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// What everyday tools do to a working tree, none of it written for wsync, against an ssh remote (over the
/// agent) and a local remote (with -Transport Rsync) at once: after each, both remotes equal the workspace byte for byte, mode for mode, type for type.
/// Hard links and holes follow wsync's documented decision (about_wsync, "Hard links and sparse files"):
/// every name is a file of its own on a remote, with the content of the workspace's, and holes stay holes.
/// </summary>
public sealed class RealToolsTests(SshFixture ssh) : IClassFixture<SshFixture>
{
    [Fact]
    public async Task Git_checkouts_stash_and_clean_across_a_long_history_mirror_exactly()
    {
        await using var mirror = await MirroredWorkspace.StartAsync("rg", ssh.Server);
        var web = mirror.Workspace;

        // A history whose commits replace thousands of files at once and change the type of paths.
        Run(web, "bash", "-c", GitHistoryScript);
        await mirror.AssertExactAsync("the history built");

        foreach (var commit in new[] { "v1", "v3", "v2", "main" })
        {
            Run(web, "git", "checkout", "-q", commit);
            await mirror.AssertExactAsync($"git checkout {commit}");
        }

        Run(web, "git", "checkout", "-q", "main");
        File.AppendAllText(Path.Combine(web, "src", "d30", "f0.c"), "// work in progress\n");
        File.WriteAllText(Path.Combine(web, "untracked.txt"), "not in git");
        Directory.CreateDirectory(Path.Combine(web, "build", "obj"));
        File.WriteAllText(Path.Combine(web, "build", "obj", "a.o"), "object");
        await mirror.AssertExactAsync("work in progress");
        Run(web, "git", "stash", "-q");
        await mirror.AssertExactAsync("git stash");
        Run(web, "git", "stash", "pop", "-q");
        await mirror.AssertExactAsync("git stash pop");
        Run(web, "git", "clean", "-fdxq");
        await mirror.AssertExactAsync("git clean -fdx");
    }

    [Fact]
    public async Task Editors_saves_sed_growing_files_and_paths_changing_type_mirror_exactly()
    {
        await using var mirror = await MirroredWorkspace.StartAsync("re", ssh.Server);
        var web = mirror.Workspace;
        File.WriteAllText(Path.Combine(web, "app.c"), "int main(void) { return 0; }\n");
        File.WriteAllText(Path.Combine(web, "notes.txt"), "alpha beta gamma\n");
        File.WriteAllText(Path.Combine(web, "Readme.md"), "# read me\n");
        Directory.CreateDirectory(Path.Combine(web, "Src"));
        File.WriteAllText(Path.Combine(web, "Src", "x.c"), "x");
        await mirror.AssertExactAsync("the start");

        // An atomic save (VS Code, JetBrains, most libraries): a temporary file, then a rename over the original.
        Run(web, "bash", "-c", "printf 'int main(void) { return 1; }\\n' > .app.c.tmp && mv -f .app.c.tmp app.c");

        // vim: a swap file, the original renamed to a backup, a new file written, the swap removed.
        Run(web, "bash", "-c", "echo swap > .notes.txt.swp && mv notes.txt notes.txt~ && printf 'alpha BETA gamma\\n' > notes.txt && rm .notes.txt.swp");

        // emacs: an autosave file, then a backup by copying and a write in place.
        Run(web, "bash", "-c", "echo autosave > '#Readme.md#' && cp -p Readme.md Readme.md~ && printf '# READ ME\\n' > Readme.md && rm '#Readme.md#'");

        // sed -i: a temporary file in the same directory, renamed over the original.
        Run(web, "sed", "-i", "s/alpha/ALPHA/", "notes.txt");
        await mirror.AssertExactAsync("editors' saves and sed -i");

        // A file growing while it syncs (a log being written), beside other changes.
        using (var writer = Start(web, "bash", "-c", "for i in $(seq 1 300); do echo \"line $i\" >> build.log; sleep 0.002; done"))
        {
            for (var i = 0; i < 20; i++)
            {
                File.WriteAllText(Path.Combine(web, $"side-{i}.txt"), new string('s', i * 100));
            }

            await writer.WaitForExitAsync();
        }

        await mirror.AssertExactAsync("a file growing while it synced");

        // One path: file, then directory, then symlink, within one batch; case-only renames of a file and a directory.
        Run(web, "bash", "-c", "echo f > t && rm t && mkdir t && echo in > t/in && rm -r t && ln -s app.c t");
        Run(web, "bash", "-c", "mv Readme.md README.md && mv Src src");
        await mirror.AssertExactAsync("a path changing type in one batch, case-only renames");

        // Names at the limit (255 bytes, ASCII and UTF-8), and names that are not UTF-8, from the shell.
        var longAscii = new string('a', 251) + ".txt";
        var longUtf8 = string.Concat(Enumerable.Repeat("\u00e9", 127)) + "x"; // 255 bytes
        File.WriteAllText(Path.Combine(web, longAscii), "long");
        Directory.CreateDirectory(Path.Combine(web, longUtf8));
        File.WriteAllText(Path.Combine(web, longUtf8, longAscii), "longer");
        Run(web, "bash", "-c", "mkdir \"$(printf 'latin1-caf\\351')\" && echo x > \"$(printf 'latin1-caf\\351')/$(printf '\\377\\376')\" && mv \"$(printf 'latin1-caf\\351')\" \"$(printf 'moved-\\351')\"");
        await mirror.AssertExactAsync("255-byte names and names that are not UTF-8");
        Assert.Equal('f', RawFiles.Status(Path.Combine(mirror.OverSsh, RawFiles.FromBytes([.. "moved-"u8, 0xE9]), RawFiles.FromBytes([0xFF, 0xFE])))?.Kind);
    }

    [Fact]
    public async Task Hard_links_arrive_as_files_of_their_own_that_follow_every_change_and_holes_stay_holes()
    {
        await using var mirror = await MirroredWorkspace.StartAsync("rh", ssh.Server);
        var web = mirror.Workspace;
        File.WriteAllText(Path.Combine(web, "original"), "version 1\n");
        Directory.CreateDirectory(Path.Combine(web, "elsewhere"));
        Run(web, "ln", "original", "elsewhere/second-name");
        await mirror.AssertExactAsync("a hard link made");

        // Written and chmodded through one name: the kernel reports only that name; the other changed too.
        Run(web, "bash", "-c", "echo 'version 2' >> original && chmod 600 elsewhere/second-name");
        await mirror.AssertExactAsync("a hard-linked file changed through one name");
        foreach (var remote in new[] { mirror.Local, mirror.OverSsh })
        {
            Assert.Equal(1u, RawFiles.Status(Path.Combine(remote, "elsewhere", "second-name"))?.Links);
            Assert.Equal("version 1\nversion 2\n", File.ReadAllText(Path.Combine(remote, "elsewhere", "second-name")));
        }

        // A 64 MiB file with 8 KiB of data: on each remote it takes about what its data takes.
        Run(web, "truncate", "-s", "64M", "sparse.img");
        Run(web, "bash", "-c", "printf 'data' | dd of=sparse.img bs=1 seek=33554432 conv=notrunc status=none");
        await mirror.AssertExactAsync("a sparse file");
        foreach (var remote in new[] { mirror.Local, mirror.OverSsh })
        {
            var status = RawFiles.Status(Path.Combine(remote, "sparse.img"))!.Value;
            Assert.Equal(64L << 20, status.Size);
            Assert.True(status.Blocks * 512 < 1 << 20, $"{remote}/sparse.img takes {status.Blocks * 512} bytes on disk");
        }
    }

    /// <summary>Builds a repository in the current directory: v1, v2, v3 and main, each replacing thousands of files.</summary>
    private const string GitHistoryScript = """
        set -e
        git init -q -b main .
        git config user.email test@wsync.invalid
        git config user.name wsync-test
        git config gc.auto 0
        git config maintenance.auto false
        mkdir -p src
        for d in $(seq 0 19); do mkdir -p src/d$d; for f in $(seq 0 99); do echo "v1 $d $f" > src/d$d/f$f.c; done; done
        echo 'a file' > shape; mkdir -p tree/inner; echo leaf > tree/inner/leaf; ln -s src link
        git add -A && git commit -qm v1 && git tag v1
        for d in $(seq 0 9); do rm -r src/d$d; done
        for d in $(seq 30 39); do mkdir -p src/d$d; for f in $(seq 0 99); do echo "v2 $d $f" > src/d$d/f$f.c; done; done
        for f in $(seq 0 99); do echo "v2 changed" > src/d15/f$f.c; done
        rm shape && mkdir shape && echo now-a-dir > shape/inside
        rm -r tree && echo now-a-file > tree
        rm link && echo now-a-file > link && chmod 755 link
        git add -A && git commit -qm v2 && git tag v2
        git mv src/d15 src/d15-renamed
        rm -r shape && ln -s src/d30 shape
        for d in $(seq 45 46); do mkdir -p src/d$d; for f in $(seq 0 199); do echo "v3 $d $f" > src/d$d/f$f.c; done; done
        git add -A && git commit -qm v3 && git tag v3
        for f in $(seq 0 49); do echo "main $f" > src/d30/f$f.c; done
        git add -A && git commit -qm main
        """;

    private static void Run(string directory, string file, params string[] arguments)
    {
        using var process = Start(directory, file, arguments);
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }

    private static Process Start(string directory, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }
}

/// <summary>A daemon, a workspace "web", and two remotes attached to it: a local directory and an ssh destination.</summary>
internal sealed class MirroredWorkspace : IAsyncDisposable
{
    private readonly MirrorSetup setup;

    private MirroredWorkspace(MirrorSetup setup, string workspace, string local, string overSsh)
    {
        this.setup = setup;
        Workspace = workspace;
        Local = local;
        OverSsh = overSsh;
    }

    public string Workspace { get; }

    public string Local { get; }

    public string OverSsh { get; }

    public static async Task<MirroredWorkspace> StartAsync(string prefix, SshServer server)
    {
        var setup = await MirrorSetup.StartAsync(prefix);
        var workspace = setup.Temp.CreateDirectory("web");
        var local = setup.Temp.CreateDirectory("local");
        var overSsh = setup.Temp.CreateDirectory("over-ssh");
        await setup.AddWorkspaceAsync(workspace);
        // One remote over each transport: what real tools do must come out exact through both.
        await setup.ConnectLocalAsync("web", local, transport: RemoteTransport.Rsync);
        await setup.ConnectSshAsync("web", server, overSsh, "ssh", transport: RemoteTransport.Agent);
        return new MirroredWorkspace(setup, workspace, local, overSsh);
    }

    /// <summary>Wait-WsyncWorkspace, then both remotes must equal the workspace.</summary>
    public async Task AssertExactAsync(string after)
    {
        await setup.WaitAsync("web");
        foreach (var remote in new[] { Local, OverSsh })
        {
            var differences = TreeSnapshot.Compare(Workspace, remote);
            Assert.True(differences.Count == 0, $"After {after}, {remote} differs:\n" + string.Join('\n', differences.Take(30)));
        }
    }

    public ValueTask DisposeAsync() => setup.DisposeAsync();
}
