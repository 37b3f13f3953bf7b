using Wsync.Platform;

namespace Wsync.Daemon;

/// <summary>
/// What the daemon checks before it stores a remote or resumes a workspace, so that nothing is deleted by
/// mistake: a destination inside a workspace (or holding one), a destination holding entries the workspace
/// lacks, an empty root about to be mirrored, a suspended workspace.
/// </summary>
internal static class ConnectChecks
{
    /// <summary>How many of the entries a refused connect would delete its message names; the rest are counted.</summary>
    public const int NamedEntriesInRefusal = 5;

    public static void RefuseWhenSuspended(WorkspaceDefinition workspace)
    {
        if (workspace.Suspended)
        {
            throw new WsyncException(ErrorIds.WorkspaceSuspended, WsyncErrorCategory.InvalidOperation, workspace.Name,
                $"'{workspace.Name}' is suspended; Resume-WsyncWorkspace '{workspace.Name}' first.");
        }
    }

    /// <summary>Refuses an identity file that is not there, and a local destination inside a workspace or holding one.</summary>
    public static void CheckDestination(IReadOnlyList<WorkspaceDefinition> workspaces, Destination destination, ConnectRemoteRequest request)
    {
        if (request.IdentityFile is not null && !File.Exists(request.IdentityFile))
        {
            throw new WsyncException(ErrorIds.IdentityFileNotFound, WsyncErrorCategory.ObjectNotFound, request.IdentityFile,
                $"The identity file '{request.IdentityFile}' does not exist.");
        }

        if (destination.Kind != RemoteKind.Local)
        {
            return;
        }

        var resolved = Posix.ResolvePath(destination.Path) ?? destination.Path;
        foreach (var other in workspaces)
        {
            if (Validation.IsSameOrUnder(resolved, other.Path))
            {
                throw new WsyncException(ErrorIds.DestinationInsideWorkspace, WsyncErrorCategory.InvalidArgument, request.Destination,
                    $"'{request.Destination}' is inside the workspace '{other.Name}' ({other.Path}); mirroring there would feed on itself.");
            }

            if (Validation.IsSameOrUnder(other.Path, resolved))
            {
                throw new WsyncException(ErrorIds.DestinationInsideWorkspace, WsyncErrorCategory.InvalidArgument, request.Destination,
                    $"'{request.Destination}' contains the workspace '{other.Name}' ({other.Path}); mirroring there would delete it.");
            }
        }
    }

    /// <summary>
    /// Refuses a destination whose top level holds entries the workspace root lacks: the initial sync
    /// (an exact mirror) would delete them, and such a destination is usually a mistyped path (a home
    /// directory, another project) rather than an old mirror. Deeper differences are what mirroring is for.
    /// Names are compared as they are, excluded ones too (rsync leaves excluded names alone on the remote,
    /// so this errs towards asking).
    /// </summary>
    public static void RefuseToDeleteOtherFiles(WorkspaceDefinition workspace, RemoteDefinition remote, IReadOnlyList<string> destinationEntries)
    {
        if (destinationEntries.Count == 0)
        {
            return;
        }

        HashSet<string> local;
        try
        {
            local = [.. Directory.EnumerateFileSystemEntries(workspace.Path).Select(Path.GetFileName).OfType<string>()];
        }
        catch (IOException)
        {
            local = [];
        }
        catch (UnauthorizedAccessException)
        {
            local = [];
        }

        var others = destinationEntries.Where(entry => !local.Contains(entry)).Order(StringComparer.Ordinal).ToList();
        if (others.Count == 0)
        {
            return;
        }

        var named = string.Join(", ", others.Take(NamedEntriesInRefusal).Select(entry => $"'{entry}'"));
        var more = others.Count > NamedEntriesInRefusal ? $" and {others.Count - NamedEntriesInRefusal} more" : "";
        throw new WsyncException(ErrorIds.DestinationHoldsOtherFiles, WsyncErrorCategory.ResourceExists, remote.Destination,
            $"'{remote.Destination}' holds {others.Count} {(others.Count == 1 ? "entry" : "entries")} that '{workspace.Name}' does not " +
            $"have ({named}{more}); mirroring would delete {(others.Count == 1 ? "it" : "them")}. Connect to an empty or new " +
            "directory, or use -Force to make it an exact mirror anyway.");
    }

    /// <summary>True for an existing directory with no entry at all (a missing root halts on its own; it is not emptied).</summary>
    public static bool IsEmptyDirectory(string path)
    {
        try
        {
            return Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any();
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The destination's default name, numbered when the workspace has a remote of that name.</summary>
    public static string DefaultRemoteName(WorkspaceDefinition workspace, Destination destination)
    {
        var stem = destination.DefaultName;
        var name = stem;
        for (var n = 2; workspace.Remotes.Any(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase)); n++)
        {
            name = $"{stem}-{n}";
        }

        return name;
    }
}
