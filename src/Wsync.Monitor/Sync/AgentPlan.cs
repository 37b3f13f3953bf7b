using Wsync.Platform;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>
/// What one batch asks of the agent, and what each request stands for, so that whatever the agent could not
/// apply goes to rsync. Requests come in this order: the renames as they happened, then each path as the
/// workspace has it now (parents before children: ordinal order puts "d" before "d/f"), then the modification
/// time of every directory a request changed an entry of (creating or removing a name changes it; rsync -t
/// leaves the workspace's), so that a later full reconcile finds nothing to do.
/// </summary>
internal sealed class AgentPlan(bool recursiveRemove)
{
    /// <summary>What a request is for: a rename (nothing to redo if it fails: the batch lists both names), a path, or a directory's time.</summary>
    private enum Purpose
    {
        Move,
        Entry,
        DirectoryTime,
    }

    /// <summary>Per request, in order: the path it stands for and why it was sent.</summary>
    private readonly List<(string Path, Purpose Purpose)> requests = [];

    /// <summary>What rsync carries whatever the agent does: trees, large and special files.</summary>
    private readonly List<(string Path, PendingKind Kind)> forRsync = [];

    public FrameWriter Requests { get; } = new();

    /// <summary>Content bytes in the requests.</summary>
    public long BytesSent { get; private set; }

    /// <summary>Files written by the requests.</summary>
    public long FilesSent { get; private set; }

    public void Add(ConfinedRoot workspace, IReadOnlyList<PendingMove> moves, List<(string Path, PendingKind Kind)> entries)
    {
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var move in moves)
        {
            Requests.Begin(FrameKind.Rename).Path(move.From).Path(move.To).End();
            requests.Add((move.To, Purpose.Move));
            directories.Add(ParentOf(move.From));
            directories.Add(ParentOf(move.To));
        }

        foreach (var (path, kind) in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            if (kind == PendingKind.Tree || !TryAdd(workspace, path))
            {
                forRsync.Add((path, kind));
                continue;
            }

            requests.Add((path, Purpose.Entry));
            if (path.Length > 0)
            {
                directories.Add(ParentOf(path));
            }
        }

        AddDirectoryTimes(workspace, directories);
    }

    /// <summary>
    /// What is left for rsync once the agent replied: the paths it was never for, and every path or directory
    /// whose request failed (rsync sends it as the workspace has it then). A failed rename needs nothing:
    /// both its names are in the batch.
    /// </summary>
    public (List<(string Path, PendingKind Kind)> Entries, List<(string Path, string Message)> Failures) LeftFor(IReadOnlyList<AgentReply> replies)
    {
        var left = new List<(string Path, PendingKind Kind)>(forRsync);
        var failures = new List<(string Path, string Message)>();
        var listed = new HashSet<string>(forRsync.Select(e => e.Path), StringComparer.Ordinal);
        for (var i = 0; i < replies.Count; i++)
        {
            if (replies[i].Done)
            {
                continue;
            }

            var (path, purpose) = requests[i];
            failures.Add((path, replies[i].Message));
            if (purpose != Purpose.Move && listed.Add(path))
            {
                left.Add((path, PendingKind.Path));
            }
        }

        return (left, failures);
    }

    private void AddDirectoryTimes(ConfinedRoot workspace, HashSet<string> directories)
    {
        foreach (var directory in directories.Order(StringComparer.Ordinal))
        {
            var status = TryStatus(workspace, directory);
            if (status.Kind == FileKind.Directory)
            {
                Requests.Begin(FrameKind.SetAttributes).Path(directory).U8(0).U32(0).I64(status.ModifiedSeconds).U32(status.ModifiedNanoseconds).End();
                requests.Add((directory, Purpose.DirectoryTime));
            }
        }
    }

    /// <summary>Adds the request that makes the remote's <paramref name="path"/> what the workspace has; false when it is rsync's to send.</summary>
    private bool TryAdd(ConfinedRoot workspace, string path)
    {
        try
        {
            var status = workspace.Status(path);
            switch (status.Kind)
            {
                case FileKind.Missing:
                    Requests.Begin(FrameKind.Remove).Path(path).U8(recursiveRemove ? (byte)1 : (byte)0).End();
                    return true;
                case FileKind.Directory when path.Length == 0: // the root: its mode and time
                    Requests.Begin(FrameKind.SetAttributes).Path(path).U8(1).U32(status.Mode).I64(status.ModifiedSeconds).U32(status.ModifiedNanoseconds).End();
                    return true;
                case FileKind.Directory:
                    Requests.Begin(FrameKind.MakeDirectory).Path(path).U32(status.Mode).I64(status.ModifiedSeconds).U32(status.ModifiedNanoseconds).End();
                    return true;
                case FileKind.SymbolicLink when workspace.ReadLink(path) is { } target:
                    Requests.Begin(FrameKind.Symlink).Path(path).Path(target).I64(status.ModifiedSeconds).U32(status.ModifiedNanoseconds).End();
                    return true;
                case FileKind.File when workspace.ReadFile(path, AgentProtocol.InlineLimit) is { } file:
                    Requests.Begin(FrameKind.WriteFile).Path(path).U32(file.Status.Mode)
                        .I64(file.Status.ModifiedSeconds).U32(file.Status.ModifiedNanoseconds).Content(file.Content).End();
                    BytesSent += file.Content.Length;
                    FilesSent++;
                    return true;
                default:
                    // Larger than inline, special, or changed kind while read: rsync.
                    return false;
            }
        }
        catch (IOException)
        {
            // Through a symlink now (a directory swapped for a link since the event), or unreadable: rsync's, as before the agent.
            return false;
        }
    }

    /// <summary>What is at <paramref name="path"/>; missing when it cannot be reached without following a link.</summary>
    private static FileStatus TryStatus(ConfinedRoot workspace, string path)
    {
        try
        {
            return workspace.Status(path);
        }
        catch (IOException)
        {
            return FileStatus.Missing;
        }
    }

    private static string ParentOf(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }
}
