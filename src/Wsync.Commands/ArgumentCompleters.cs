using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Wsync.Engine;

namespace Wsync.Commands;

/// <summary>
/// What the completers share: they ask the running daemon through the engine, never start one, give
/// up after a short deadline, and return names quoted so that PowerShell reads each back as one
/// argument. A completer never throws: no daemon, a wedged one, or any failure means no completions
/// (an empty list, not null: null would make PowerShell fall back to completing file names).
/// </summary>
public abstract class DaemonArgumentCompleter : IArgumentCompleter
{
    /// <summary>
    /// How long a completion may wait for the daemon. A healthy daemon answers in about a millisecond;
    /// a wedged one must not freeze the prompt for the engine's 10 s handshake timeout.
    /// </summary>
    private static readonly TimeSpan DaemonDeadline = TimeSpan.FromSeconds(2);

    /// <summary>Characters that make PowerShell read a bare argument differently wherever they stand: white space aside, quotes, sigils and operators.</summary>
    private const string SpecialCharacters = "'\"‘’‚‛“”„`$;&|(){}<>,";

    /// <summary>Characters that change a bare argument only at its start: splatting, a comment, a parameter name, redirection, a type literal.</summary>
    private const string SpecialLeadingCharacters = "@#-<>[";

    /// <summary>PowerShell's single quotes (it accepts the typographic ones too); inside single quotes each is escaped by doubling it.</summary>
    private const string SingleQuotes = "'‘’‚‛";

    /// <summary>Every quote character a typed word may start with.</summary>
    private const string Quotes = "'‘’‚‛\"“”„";

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var typed = wordToComplete ?? "";
            var quoted = typed.Length > 0 && Quotes.Contains(typed[0], StringComparison.Ordinal);
            var prefix = quoted ? typed[1..].TrimEnd(Quotes.ToCharArray()) : typed;
            return Candidates(fakeBoundParameters)
                .Where(candidate => Matches(candidate.Text, prefix))
                .GroupBy(candidate => candidate.Text, StringComparer.Ordinal)
                .Select(group => group.First())
                .OrderBy(candidate => candidate.Text, StringComparer.OrdinalIgnoreCase)
                .Select(candidate => new CompletionResult(Quote(candidate.Text, quoted), candidate.Text,
                    CompletionResultType.ParameterValue, candidate.ToolTip.Length > 0 ? candidate.ToolTip : candidate.Text))
                .ToList();
        }
        catch (Exception)
        {
            // Tab completion must never surface an error; whatever failed, there is nothing to offer.
            return [];
        }
    }

    /// <summary>What may be completed, with a tooltip each, given the parameters already typed.</summary>
    protected abstract IEnumerable<Candidate> Candidates(IDictionary boundParameters);

    /// <summary>One completion: the value and what the tooltip says about it.</summary>
    protected readonly record struct Candidate(string Text, string ToolTip);

    /// <summary>The workspaces, or none when no daemon answers in time. Never starts the daemon.</summary>
    protected static IReadOnlyList<Workspace> GetWorkspaces() => Ask((daemon, token) => daemon.GetWorkspacesAsync(token));

    /// <summary>Every remote of every workspace, or none when no daemon answers in time. Never starts the daemon.</summary>
    protected static IReadOnlyList<Remote> GetRemotes() => Ask((daemon, token) => daemon.GetRemotesAsync(null, token));

    /// <summary>The workspace names typed for -Workspace so far (names, patterns, or piped objects), if any.</summary>
    protected static List<string> TypedWorkspaces(IDictionary boundParameters) =>
        boundParameters.Contains(nameof(Remote.Workspace)) ? Names(boundParameters[nameof(Remote.Workspace)]).ToList() : [];

    /// <summary>Whether a workspace name is one of <paramref name="patterns"/> (names or wildcards, any case).</summary>
    protected static bool IsAnyOf(string name, List<string> patterns) =>
        patterns.Any(pattern => WildcardPattern.ContainsWildcardCharacters(pattern)
            ? new WildcardPattern(pattern, WildcardOptions.IgnoreCase).IsMatch(name)
            : name.Equals(pattern, StringComparison.OrdinalIgnoreCase));

    private static IReadOnlyList<T> Ask<T>(Func<IWsyncDaemon, CancellationToken, Task<IReadOnlyList<T>>> query)
    {
        using var deadline = new CancellationTokenSource(DaemonDeadline);
        var daemon = DaemonClient.ConnectAsync(autoStart: false, [], deadline.Token).WaitAsync(deadline.Token).GetAwaiter().GetResult();
        return query(daemon, deadline.Token).WaitAsync(deadline.Token).GetAwaiter().GetResult();
    }

    /// <summary>Names start with what was typed (any case); a typed wildcard pattern matches as a pattern.</summary>
    private static bool Matches(string candidate, string typed)
    {
        if (WildcardPattern.ContainsWildcardCharacters(typed))
        {
            try
            {
                return new WildcardPattern(typed + "*", WildcardOptions.IgnoreCase).IsMatch(candidate);
            }
            catch (WildcardPatternException)
            {
                // Not a valid pattern (an unclosed '[', as in an IPv6 destination): compare it as text.
            }
        }

        return candidate.StartsWith(typed, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The value as PowerShell must see it typed: single-quoted when a bare word would not read back as exactly this one argument.</summary>
    internal static string Quote(string value, bool always)
    {
        var needsQuotes = always
            || value.Length == 0
            || value.Any(c => char.IsWhiteSpace(c) || SpecialCharacters.Contains(c, StringComparison.Ordinal))
            || SpecialLeadingCharacters.Contains(value[0], StringComparison.Ordinal);
        if (!needsQuotes)
        {
            return value;
        }

        var escaped = string.Concat(value.Select(c => SingleQuotes.Contains(c, StringComparison.Ordinal) ? new string(c, 2) : c.ToString()));
        return $"'{escaped}'";
    }

    private static IEnumerable<string> Names(object? value) => value switch
    {
        PSObject wrapped => Names(wrapped.BaseObject),
        string name => [name],
        Workspace workspace => [workspace.Name],
        Remote remote => [remote.Workspace],
        IEnumerable many => many.Cast<object?>().SelectMany(Names),
        _ => [],
    };
}

/// <summary>Completes the names of existing workspaces (-Name of the workspace cmdlets, -Workspace of the remote cmdlets).</summary>
public sealed class WorkspaceNameCompleter : DaemonArgumentCompleter
{
    protected override IEnumerable<Candidate> Candidates(IDictionary boundParameters) =>
        GetWorkspaces().Select(workspace => new Candidate(workspace.Name, $"{workspace.Path} ({workspace.State})"));
}

/// <summary>Completes remote names: of the workspace(s) given with -Workspace, or of every workspace.</summary>
public sealed class RemoteNameCompleter : DaemonArgumentCompleter
{
    protected override IEnumerable<Candidate> Candidates(IDictionary boundParameters)
    {
        var workspaces = TypedWorkspaces(boundParameters);
        return GetRemotes()
            .Where(remote => workspaces.Count == 0 || IsAnyOf(remote.Workspace, workspaces))
            .Select(remote => new Candidate(remote.Name, $"{remote.Destination} ({remote.Workspace}, {remote.State})"));
    }
}

/// <summary>
/// Completes destinations already used by some remote (to attach another workspace to the same host,
/// edit the path). Those the -Workspace given already mirrors to are left out: they would be refused.
/// </summary>
public sealed class DestinationCompleter : DaemonArgumentCompleter
{
    protected override IEnumerable<Candidate> Candidates(IDictionary boundParameters)
    {
        var workspaces = TypedWorkspaces(boundParameters);
        var remotes = GetRemotes();
        var taken = remotes.Where(remote => workspaces.Count > 0 && IsAnyOf(remote.Workspace, workspaces))
            .Select(remote => remote.Destination)
            .ToHashSet(StringComparer.Ordinal);
        return remotes
            .Where(remote => !taken.Contains(remote.Destination))
            .GroupBy(remote => remote.Destination, StringComparer.Ordinal)
            .Select(group => new Candidate(group.Key, "Used by " + string.Join(", ", group.Select(remote => $"{remote.Workspace}/{remote.Name}"))));
    }
}
