using System.Text;
using System.Text.RegularExpressions;
using Wsync.Platform;

namespace Wsync.Monitor.Watching;

/// <summary>
/// Which paths of a workspace are left out: the workspace's -Exclude patterns (rsync syntax) and, when
/// asked, its .gitignore files. The watcher asks it before watching a directory or reporting a path;
/// rsync gets the same rules as a filter file, so what is watched and what is sent always agree.
/// </summary>
internal sealed class PathFilter
{
    private readonly IReadOnlyList<FilterRule> excludes;

    /// <summary>The .gitignore rules by the directory holding the file ("" for the root), deepest first.</summary>
    private readonly IReadOnlyList<(string Directory, IReadOnlyList<FilterRule> Rules)> gitIgnores;

    private PathFilter(IReadOnlyList<FilterRule> excludes, IReadOnlyList<(string, IReadOnlyList<FilterRule>)> gitIgnores)
    {
        this.excludes = excludes;
        this.gitIgnores = gitIgnores;
    }

    public static PathFilter None { get; } = new([], []);

    public bool UsesGitIgnore { get; private init; }

    /// <summary>The filter of a workspace; reads every .gitignore below <paramref name="root"/> that is not itself excluded.</summary>
    public static PathFilter For(string root, IReadOnlyList<string> excludePatterns, bool useGitIgnore)
    {
        var excludes = excludePatterns.Select(p => FilterRule.FromRsync(p, include: false)).ToList();
        var withoutGit = new PathFilter(excludes, []);
        if (!useGitIgnore)
        {
            return withoutGit;
        }

        var files = new List<(string, IReadOnlyList<FilterRule>)>();
        var pending = new Stack<string>([""]);
        while (pending.Count > 0)
        {
            var relative = pending.Pop();
            var absolute = relative.Length == 0 ? root : Path.Combine(root, relative);
            if (ReadLines(Path.Combine(absolute, ".gitignore")) is { } lines)
            {
                files.Add((relative, ParseGitIgnore(lines)));
            }

            var partial = new PathFilter(excludes, [.. files.OrderByDescending(f => f.Item1.Length)]);
            foreach (var child in SafeSubdirectories(absolute))
            {
                var childRelative = relative.Length == 0 ? child : relative + "/" + child;
                if (childRelative != ".git" && !partial.IsExcluded(childRelative, isDirectory: true))
                {
                    pending.Push(childRelative);
                }
            }
        }

        return new PathFilter(excludes, [.. files.OrderByDescending(f => f.Item1.Length)]) { UsesGitIgnore = true };
    }

    /// <summary>True when <paramref name="relativePath"/> (no leading slash) is left out. Its ancestors are assumed not to be.</summary>
    public bool IsExcluded(string relativePath, bool isDirectory)
    {
        if (relativePath.Length == 0)
        {
            return false;
        }

        foreach (var rule in excludes)
        {
            if (rule.Matches(relativePath, isDirectory))
            {
                return true;
            }
        }

        // Deeper .gitignore files win over shallower ones; within a file, the last matching line wins.
        foreach (var (directory, rules) in gitIgnores)
        {
            if (directory.Length > 0 && !relativePath.StartsWith(directory + "/", StringComparison.Ordinal))
            {
                continue;
            }

            var local = directory.Length == 0 ? relativePath : relativePath[(directory.Length + 1)..];
            for (var i = rules.Count - 1; i >= 0; i--)
            {
                if (rules[i].Matches(local, isDirectory))
                {
                    return !rules[i].Include;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The same rules as an rsync merge file: first match wins in rsync, so the deepest .gitignore
    /// comes first and each file's lines are reversed.
    /// </summary>
    public string ToRsyncRules()
    {
        var text = new StringBuilder();
        foreach (var rule in excludes)
        {
            text.Append(rule.ToRsync("")).Append('\n');
        }

        foreach (var (directory, rules) in gitIgnores)
        {
            for (var i = rules.Count - 1; i >= 0; i--)
            {
                foreach (var line in rules[i].ToRsyncAnchoredBelow(directory))
                {
                    text.Append(line).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    public bool IsEmpty => excludes.Count == 0 && gitIgnores.Count == 0;

    private static List<FilterRule> ParseGitIgnore(IEnumerable<string> lines)
    {
        var rules = new List<FilterRule>();
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            // Trailing spaces are ignored unless escaped.
            while (line.EndsWith(' ') && !line.EndsWith("\\ ", StringComparison.Ordinal))
            {
                line = line[..^1];
            }

            var include = line.StartsWith('!');
            if (include || line.StartsWith("\\!", StringComparison.Ordinal) || line.StartsWith("\\#", StringComparison.Ordinal))
            {
                line = line[1..];
            }

            if (line.Length > 0)
            {
                rules.Add(FilterRule.FromGitIgnore(line, include));
            }
        }

        return rules;
    }

    /// <summary>The directories in <paramref name="directory"/>, by bytes (a name need not be UTF-8), never through a symlink.</summary>
    private static IEnumerable<string> SafeSubdirectories(string directory) =>
        (Posix.ReadDirectory(directory) ?? []).Where(entry => entry.Kind == FileKind.Directory).Select(entry => entry.Name);

    /// <summary>A .gitignore's lines (its patterns may name files that are not UTF-8), or null when there is none to read.</summary>
    private static List<string>? ReadLines(string path)
    {
        if (Posix.Status(path).Kind != FileKind.File)
        {
            return null;
        }

        try
        {
            using var stream = Posix.OpenRead(path);
            if (stream is null)
            {
                return null;
            }

            using var content = new MemoryStream();
            stream.CopyTo(content);
            return [.. LinuxPath.FromBytes(content.GetBuffer().AsSpan(0, (int)content.Length)).Split('\n')];
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>
/// One pattern, matched the way rsync (and git) match: '*' and '?' stop at '/', '**' does not; a
/// leading '/' anchors to the root; a trailing '/' matches directories only; a pattern without '/'
/// matches the last component at any depth.
/// </summary>
internal sealed class FilterRule
{
    private readonly Regex regex;

    private FilterRule(string pattern, bool include, bool anchored, bool directoryOnly, bool wholePath)
    {
        Pattern = pattern;
        Include = include;
        Anchored = anchored;
        DirectoryOnly = directoryOnly;
        WholePath = wholePath;
        regex = new Regex("^" + GlobToRegex(pattern) + "$", RegexOptions.CultureInvariant);
    }

    /// <summary>The pattern without its leading '/' and trailing '/'.</summary>
    public string Pattern { get; }

    /// <summary>A re-inclusion ('!' in .gitignore).</summary>
    public bool Include { get; }

    public bool Anchored { get; }

    public bool DirectoryOnly { get; }

    /// <summary>Matched against the whole path (it has a '/' or '**'), not just the last component.</summary>
    public bool WholePath { get; }

    public static FilterRule FromRsync(string pattern, bool include)
    {
        var directoryOnly = pattern.EndsWith('/');
        var anchored = pattern.StartsWith('/');
        var core = pattern.Trim('/');
        return new FilterRule(core, include, anchored, directoryOnly, anchored || core.Contains('/') || core.Contains("**"));
    }

    public static FilterRule FromGitIgnore(string pattern, bool include)
    {
        var directoryOnly = pattern.EndsWith('/');
        var core = pattern.TrimEnd('/');

        // git: a slash at the start or in the middle anchors the pattern to the .gitignore's directory.
        var anchored = core.Contains('/');
        if (core.StartsWith("**/", StringComparison.Ordinal))
        {
            anchored = false;
            core = core[3..];
        }

        core = core.TrimStart('/');
        return new FilterRule(core, include, anchored, directoryOnly, anchored || core.Contains('/') || core.Contains("**"));
    }

    public bool Matches(string relativePath, bool isDirectory)
    {
        if (DirectoryOnly && !isDirectory)
        {
            return false;
        }

        if (Anchored)
        {
            return regex.IsMatch(relativePath);
        }

        if (!WholePath)
        {
            var slash = relativePath.LastIndexOf('/');
            return regex.IsMatch(slash < 0 ? relativePath : relativePath[(slash + 1)..]);
        }

        // Unanchored with a slash: matches the path or any tail of it that starts at a component.
        for (var start = 0; start >= 0 && start < relativePath.Length; start = NextComponent(relativePath, start))
        {
            if (regex.IsMatch(relativePath[start..]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The rule for rsync's filter file, relative to the transfer root.</summary>
    public string ToRsync(string directory) =>
        (Include ? "+ " : "- ") + (Anchored ? "/" + Join(directory, Pattern) : Pattern) + (DirectoryOnly ? "/" : "");

    /// <summary>rsync rules equivalent to this .gitignore line of <paramref name="directory"/>.</summary>
    public IEnumerable<string> ToRsyncAnchoredBelow(string directory)
    {
        var sign = Include ? "+ " : "- ";
        var suffix = DirectoryOnly ? "/" : "";
        if (Anchored)
        {
            yield return sign + "/" + Join(directory, Pattern) + suffix;
        }
        else if (directory.Length == 0)
        {
            yield return sign + Pattern + suffix;
        }
        else
        {
            yield return sign + "/" + directory + "/" + Pattern + suffix;
            yield return sign + "/" + directory + "/**/" + Pattern + suffix;
        }
    }

    private static string Join(string directory, string pattern) => directory.Length == 0 ? pattern : directory + "/" + pattern;

    private static int NextComponent(string path, int start)
    {
        var slash = path.IndexOf('/', start);
        return slash < 0 ? -1 : slash + 1;
    }

    private static string GlobToRegex(string glob)
    {
        var regex = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    regex.Append(".*");
                    while (i + 1 < glob.Length && glob[i + 1] == '*')
                    {
                        i++;
                    }

                    break;
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '[':
                    var close = glob.IndexOf(']', i + 2);
                    if (close < 0)
                    {
                        regex.Append(@"\[");
                        break;
                    }

                    var body = glob[(i + 1)..close];
                    regex.Append('[').Append(body.StartsWith('!') ? "^" + Escape(body[1..]) : Escape(body)).Append(']');
                    i = close;
                    break;
                case '\\' when i + 1 < glob.Length:
                    regex.Append(Regex.Escape(glob[++i].ToString()));
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        return regex.ToString();

        static string Escape(string classBody) => classBody.Replace(@"\", @"\\").Replace("^", @"\^");
    }
}
