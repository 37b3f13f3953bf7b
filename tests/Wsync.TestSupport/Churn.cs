namespace Wsync.TestSupport;

/// <summary>
/// Seeded random churn of a directory tree, the way lsyncd tests itself (tests/testlib.lua, churn): random
/// mkdir, write, append, in-place rewrite, moves of files and of whole directories into other directories,
/// rm, rm -rf, chmod, symlinks and paths changing type, with short pauses. Names include spaces, UTF-8
/// beyond ASCII, bytes that are not UTF-8, and characters rsync or a shell could misread. The same seed
/// makes the same operations, so a failing seed can be replayed; <see cref="Journal"/> says what was done.
/// </summary>
public sealed class Churn
{
    private static readonly UnixFileMode[] FileModes =
    [
        (UnixFileMode)0x1A4, // 0644
        (UnixFileMode)0x180, // 0600
        (UnixFileMode)0x1ED, // 0755
        (UnixFileMode)0x1A0, // 0640
    ];

    private static readonly UnixFileMode[] DirectoryModes =
    [
        (UnixFileMode)0x1ED, // 0755
        (UnixFileMode)0x1C0, // 0700
        (UnixFileMode)0x1E8, // 0750
    ];

    /// <summary>Operations and their weights.</summary>
    private static readonly (string Name, int Weight)[] Operations =
    [
        ("mkdir", 12), ("write", 20), ("append", 10), ("rewrite", 5), ("move-file", 10), ("move-dir", 6),
        ("rm", 8), ("rmtree", 3), ("chmod", 6), ("symlink", 4), ("file-to-dir", 2), ("dir-to-file", 2), ("recase", 2),
    ];

    private readonly string root;
    private readonly Random random;
    private readonly bool unusualNames;

    /// <summary>Directories of the tree, relative ("" is the root).</summary>
    private readonly List<string> directories = [""];

    /// <summary>Files written whole so far: which of them are large is counted, not drawn.</summary>
    private int contents;

    /// <summary>Regular files and symlinks, relative.</summary>
    private readonly List<string> files = [];

    private readonly List<string> journal = [];
    private int counter;

    public Churn(string root, int seed, bool unusualNames = true)
    {
        this.root = root;
        random = new Random(seed);
        this.unusualNames = unusualNames;

        // Never touched: a root the churn emptied would halt mirroring (the safety stop), as it should.
        RawFiles.WriteAll(Path.Combine(root, ".keep"), "the churn never deletes this"u8.ToArray());
    }

    /// <summary>Every operation done so far, in order, readable.</summary>
    public IReadOnlyList<string> Journal => journal;

    /// <summary>Does <paramref name="count"/> operations; now and then a pause of a few milliseconds, as a person or a tool would.</summary>
    public void Run(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Step();
            if (random.Next(10) == 0)
            {
                Thread.Sleep(random.Next(1, 8)); // the workload's own rhythm, not synchronisation
            }
        }
    }

    /// <summary>
    /// As fast as the disk allows, no pause: writes and removes one scratch file <paramref name="times"/> times
    /// (four events each). A small inotify queue overflows for certain in the middle of the churn.
    /// </summary>
    public void Flood(int times)
    {
        journal.Add($"flood {times}");
        var scratch = Path.Combine(root, ".flood");
        for (var i = 0; i < times; i++)
        {
            RawFiles.WriteAll(scratch, [(byte)i]);
            RawFiles.Delete(scratch);
        }
    }

    private void Step()
    {
        var name = Pick();
        switch (name)
        {
            case "mkdir":
                Do(name, Join(AnyDirectory(), NewName()), path =>
                {
                    RawFiles.MakeDirectory(Full(path));
                    directories.Add(path);
                });
                break;
            case "write":
                Do(name, Join(AnyDirectory(), NewName()), path =>
                {
                    RawFiles.WriteAll(Full(path), Content());
                    files.Add(path);
                });
                break;
            case "append" when RegularFile() is { } file:
                Do(name, file, path => RawFiles.Append(Full(path), Content(maximum: 2048)));
                break;
            case "rewrite" when RegularFile() is { } file:
                Do(name, file, path =>
                {
                    var size = (int)(RawFiles.Status(Full(path))?.Size ?? 0);
                    var content = new byte[size];
                    random.NextBytes(content);
                    RawFiles.WriteAll(Full(path), content); // same size, new bytes
                });
                break;
            case "move-file" when AnyFile() is { } file:
                {
                    var target = Join(AnyDirectory(), random.Next(4) == 0 && files.Count > 1 ? Leaf(files[random.Next(files.Count)]) : NewName());
                    if (directories.Contains(target) || target == file)
                    {
                        break;
                    }

                    Do(name, $"{file} -> {target}", _ =>
                    {
                        RawFiles.Rename(Full(file), Full(target));
                        files.Remove(file);
                        if (!files.Contains(target))
                        {
                            files.Add(target);
                        }
                    });
                    break;
                }

            case "move-dir" when directories.Count > 1:
                {
                    var directory = directories[random.Next(1, directories.Count)];
                    var parent = AnyDirectory();
                    if (parent == directory || parent.StartsWith(directory + "/", StringComparison.Ordinal))
                    {
                        break; // not into itself
                    }

                    var target = Join(parent, NewName());
                    Do(name, $"{directory} -> {target}", _ =>
                    {
                        RawFiles.Rename(Full(directory), Full(target));
                        Rebase(directory, target);
                    });
                    break;
                }

            case "rm" when AnyFile() is { } file:
                Do(name, file, path =>
                {
                    RawFiles.Delete(Full(path));
                    files.Remove(path);
                });
                break;
            case "rmtree" when directories.Count > 1:
                Do(name, directories[random.Next(1, directories.Count)], path =>
                {
                    RawFiles.DeleteTree(Full(path));
                    Forget(path);
                });
                break;
            case "chmod" when random.Next(3) == 0 && directories.Count > 1:
                Do(name, directories[random.Next(1, directories.Count)], path => RawFiles.SetMode(Full(path), DirectoryModes[random.Next(DirectoryModes.Length)]));
                break;
            case "chmod" when RegularFile() is { } file:
                Do(name, file, path => RawFiles.SetMode(Full(path), FileModes[random.Next(FileModes.Length)]));
                break;
            case "symlink":
                {
                    // Relative targets, some dangling, some to directories: mirrored as links, never followed.
                    var target = random.Next(3) switch
                    {
                        0 when files.Count > 0 => "../" + Leaf(files[random.Next(files.Count)]),
                        1 when directories.Count > 1 => Leaf(directories[random.Next(1, directories.Count)]),
                        _ => "nowhere-" + random.Next(100),
                    };
                    Do(name, Join(AnyDirectory(), NewName()) + " -> " + target, description =>
                    {
                        var path = description[..description.IndexOf(" -> ", StringComparison.Ordinal)];
                        RawFiles.Symlink(target, Full(path));
                        files.Add(path);
                    });
                    break;
                }

            case "file-to-dir" when AnyFile() is { } file:
                Do(name, file, path =>
                {
                    RawFiles.Delete(Full(path));
                    files.Remove(path);
                    RawFiles.MakeDirectory(Full(path));
                    directories.Add(path);
                    RawFiles.WriteAll(Full(Join(path, "was-a-file")), Content());
                    files.Add(Join(path, "was-a-file"));
                });
                break;
            case "dir-to-file" when directories.Count > 1:
                Do(name, directories[random.Next(1, directories.Count)], path =>
                {
                    RawFiles.DeleteTree(Full(path));
                    Forget(path);
                    RawFiles.WriteAll(Full(path), Content());
                    files.Add(path);
                });
                break;
            case "recase" when AnyFile() is { } file && Leaf(file) is var leaf && leaf.ToUpperInvariant() != leaf:
                {
                    var target = Join(Parent(file), leaf.ToUpperInvariant());
                    if (files.Contains(target) || directories.Contains(target))
                    {
                        break;
                    }

                    Do(name, $"{file} -> {target}", _ =>
                    {
                        RawFiles.Rename(Full(file), Full(target));
                        files.Remove(file);
                        files.Add(target);
                    });
                    break;
                }
        }
    }

    private void Do(string operation, string subject, Action<string> action)
    {
        journal.Add($"{operation} {RawFiles.Show(subject)}");
        action(subject);
    }

    private string Pick()
    {
        // A tree that grew large shrinks: deletions become likelier.
        if (files.Count + directories.Count > 400 && random.Next(3) == 0)
        {
            return random.Next(2) == 0 ? "rmtree" : "rm";
        }

        var total = Operations.Sum(o => o.Weight);
        var roll = random.Next(total);
        foreach (var (name, weight) in Operations)
        {
            if ((roll -= weight) < 0)
            {
                return name;
            }
        }

        return Operations[0].Name;
    }

    private string NewName()
    {
        var n = ++counter;
        if (!unusualNames)
        {
            return $"n{n}";
        }

        return random.Next(20) switch
        {
            0 => $"with space {n}",
            1 => $"caf\u00e9-{n}",
            2 => RawFiles.FromBytes([(byte)'l', (byte)'a', (byte)'t', 0xE9, (byte)'-', .. System.Text.Encoding.ASCII.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
            3 => $"#comment-{n}",
            4 => $"-dash-{n}",
            5 => $"quote'{n}\"",
            6 => $"x{n}.tmp",
            7 => $"new\nline{n}",
            _ => $"n{n}",
        };
    }

    /// <summary>
    /// Random bytes, empty one time in four; every 16th file written is large (up to 600 KiB: often past the agent's
    /// inline limit, so rsync sends it while the agent sends the small edits around it).
    /// </summary>
    private byte[] Content(int maximum = 16384)
    {
        if (maximum == 16384 && ++contents % 16 == 0)
        {
            maximum = 600 * 1024;
        }

        var content = new byte[random.Next(4) == 0 ? 0 : random.Next(1, maximum)];
        random.NextBytes(content);
        return content;
    }

    private string AnyDirectory() => directories[random.Next(directories.Count)];

    private string? AnyFile() => files.Count == 0 ? null : files[random.Next(files.Count)];

    /// <summary>A regular file (not a symlink), or null.</summary>
    private string? RegularFile()
    {
        for (var attempt = 0; attempt < 5 && files.Count > 0; attempt++)
        {
            var file = files[random.Next(files.Count)];
            if (RawFiles.Status(Full(file)) is { Kind: 'f' })
            {
                return file;
            }
        }

        return null;
    }

    private void Rebase(string from, string to)
    {
        for (var i = 0; i < directories.Count; i++)
        {
            if (directories[i] == from || directories[i].StartsWith(from + "/", StringComparison.Ordinal))
            {
                directories[i] = to + directories[i][from.Length..];
            }
        }

        for (var i = 0; i < files.Count; i++)
        {
            if (files[i].StartsWith(from + "/", StringComparison.Ordinal))
            {
                files[i] = to + files[i][from.Length..];
            }
        }
    }

    private void Forget(string directory)
    {
        directories.RemoveAll(d => d == directory || d.StartsWith(directory + "/", StringComparison.Ordinal));
        files.RemoveAll(f => f.StartsWith(directory + "/", StringComparison.Ordinal));
    }

    private string Full(string relative) => relative.Length == 0 ? root : Path.Combine(root, relative);

    private static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    private static string Leaf(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string Parent(string path) => path.LastIndexOf('/') is var slash and >= 0 ? path[..slash] : "";
}
