using Wsync.Monitor.Watching;
using Wsync.Platform;
using Wsync.Transfer;

namespace Wsync.Monitor.Sync;

/// <summary>What a drift report turned out to be.</summary>
internal enum DriftVerdict
{
    /// <summary>The remote has what the workspace has (rsync's or the agent's own write, or nothing there on either side).</summary>
    Same,

    /// <summary>The path is excluded: on the remote it is the remote's own.</summary>
    Excluded,

    /// <summary>The path waits to be sent anyway: whatever is there now is replaced.</summary>
    Pending,

    /// <summary>The report names no path under the root (an absolute path, "..", an empty component): refused.</summary>
    Invalid,

    /// <summary>Something other than wsync changed the path on the remote.</summary>
    Drifted,
}

/// <summary>
/// Judges the agent's drift reports against the workspace. The agent reports what changed under its root
/// that it did not write itself, with what is there now; rsync's writes are reported too (the agent cannot
/// tell them from anyone else's) but match the workspace as rsync -rlpt leaves it: kind, permission bits,
/// size and modification time to the nanosecond, link target. A directory's time is not compared: it moves
/// with every entry made in it, and the entries are reported themselves. The report is untrusted: a path
/// that would leave the root is refused, and the workspace is read only through a <see cref="ConfinedRoot"/>.
/// </summary>
internal sealed class DriftCheck(Func<PathFilter> filter)
{
    /// <summary>The verdict on one report, and the change that undoes it (for <see cref="DriftVerdict.Drifted"/>).</summary>
    public (DriftVerdict Verdict, Change Undo) Judge(DriftEntry remote, PendingChanges pending, ConfinedRoot workspace)
    {
        if (!IsUnderRoot(remote.Path))
        {
            return (DriftVerdict.Invalid, default);
        }

        FileStatus local;
        string? target = null;
        try
        {
            local = workspace.Status(remote.Path);
            target = local.Kind == FileKind.SymbolicLink ? workspace.ReadLink(remote.Path) : null;
        }
        catch (IOException)
        {
            return (DriftVerdict.Same, default); // below a link in the workspace: the link itself is what is mirrored
        }

        if (IsExcluded(remote.Path, remote.Kind == FileKind.Directory || local.Kind == FileKind.Directory))
        {
            return (DriftVerdict.Excluded, default);
        }

        if (pending.Covers(remote.Path))
        {
            return (DriftVerdict.Pending, default);
        }

        if (Matches(local, target, remote))
        {
            return (DriftVerdict.Same, default);
        }

        // A directory the remote lost or replaced comes back whole; anything else is sent as the workspace has it.
        var undo = local.Kind == FileKind.Directory && remote.Kind != FileKind.Directory ? Change.OfTree(remote.Path) : Change.OfPath(remote.Path);
        return (DriftVerdict.Drifted, undo);
    }

    /// <summary>Whether the remote's entry is what mirroring the workspace's leaves (rsync -rlpt; specials are not mirrored).</summary>
    private static bool Matches(FileStatus local, string? localTarget, DriftEntry remote)
    {
        var kind = local.Kind == FileKind.Other ? FileKind.Missing : local.Kind;
        if (kind != remote.Kind)
        {
            return false;
        }

        return kind switch
        {
            FileKind.File => local.Size == remote.Size && local.Mode == remote.Mode
                && local.ModifiedSeconds == remote.Seconds && local.ModifiedNanoseconds == remote.Nanoseconds,
            FileKind.Directory => local.Mode == remote.Mode,
            FileKind.SymbolicLink => localTarget == remote.Target,
            _ => true,
        };
    }

    /// <summary>A relative path of real names (see <see cref="ConfinedRoot.IsConfined"/>); "" is the root.</summary>
    public static bool IsUnderRoot(string path) => ConfinedRoot.IsConfined(path);

    /// <summary>Excluded itself, or below an excluded directory.</summary>
    private bool IsExcluded(string path, bool isDirectory)
    {
        var rules = filter();
        var above = 0;
        while (path.IndexOf('/', above) is var slash and >= 0)
        {
            if (rules.IsExcluded(path[..slash], isDirectory: true))
            {
                return true;
            }

            above = slash + 1;
        }

        return rules.IsExcluded(path, isDirectory);
    }
}
