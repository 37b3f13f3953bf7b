using System.Collections.Immutable;

namespace Wsync.Daemon;

/// <summary>
/// The workspaces and their remotes: the daemon's persistent state. Every change is validated, written
/// to the workspace file and only then published, all under <see cref="StateLock"/>; so what the file
/// holds is exactly what was acknowledged. Readers take the published snapshot without locking.
/// </summary>
internal sealed class WorkspaceRegistry(WorkspaceStore store, IReadOnlyList<WorkspaceDefinition> initial, FaultInjection? faults = null)
{
    /// <summary>Test-only hooks (see <see cref="FaultInjection"/>); inert in real use.</summary>
    private readonly FaultInjection faults = faults ?? FaultInjection.None;

    /// <summary>The published state. Replaced (never mutated) under <see cref="Lock"/> after the file is written.</summary>
    private ImmutableList<WorkspaceDefinition> workspaces = [.. initial];

    public StateLock Lock { get; } = new();

    public string FilePath => store.FilePath;

    public ImmutableList<WorkspaceDefinition> Snapshot => Volatile.Read(ref workspaces);

    public WorkspaceDefinition Find(string name) =>
        Snapshot.FirstOrDefault(w => w.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new WsyncException(ErrorIds.WorkspaceNotFound, WsyncErrorCategory.ObjectNotFound, name,
            $"No workspace is named '{name}'. Get-WsyncWorkspace lists them.");

    public WorkspaceDefinition? FindById(Guid id) => Snapshot.FirstOrDefault(w => w.Id == id);

    public Task<WorkspaceDefinition> AddAsync(AddWorkspaceRequest request, CancellationToken cancellationToken)
    {
        Validation.CheckExcludes(request.Exclude);
        var path = Validation.CheckWorkspacePath(request.Path, request.Force);
        var name = request.Name ?? Path.GetFileName(path);
        Validation.CheckName(name, ErrorIds.WorkspaceNameInvalid, "workspace");

        return Lock.RunAsync("AddWorkspace", () =>
        {
            foreach (var existing in Snapshot)
            {
                if (existing.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    throw new WsyncException(ErrorIds.WorkspaceNameInUse, WsyncErrorCategory.ResourceExists, name,
                        $"A workspace named '{existing.Name}' already exists (at {existing.Path}). Choose another -Name.");
                }

                if (existing.Path == path)
                {
                    throw new WsyncException(ErrorIds.WorkspacePathInUse, WsyncErrorCategory.ResourceExists, request.Path,
                        $"'{path}' is already the workspace '{existing.Name}'.");
                }

                if (Validation.IsSameOrUnder(path, existing.Path) || Validation.IsSameOrUnder(existing.Path, path))
                {
                    throw new WsyncException(ErrorIds.WorkspaceNested, WsyncErrorCategory.InvalidArgument, request.Path,
                        $"'{path}' {(Validation.IsSameOrUnder(path, existing.Path) ? "is inside" : "contains")} the workspace '{existing.Name}' ({existing.Path}); workspaces cannot nest. Use -Exclude to leave part of a workspace out.");
                }

                foreach (var remote in existing.Remotes)
                {
                    var destination = Destination.Parse(remote.Destination, remote.Port);
                    if (destination.Kind == RemoteKind.Local && Validation.IsSameOrUnder(destination.Path, path))
                    {
                        throw new WsyncException(ErrorIds.WorkspaceNested, WsyncErrorCategory.InvalidArgument, request.Path,
                            $"'{path}' contains '{destination.Path}', the mirror of workspace '{existing.Name}'; a workspace cannot hold another's mirror.");
                    }
                }
            }

            faults.OnAddWorkspace(name);
            var workspace = new WorkspaceDefinition
            {
                Id = Guid.NewGuid(),
                Name = name,
                Path = path,
                Exclude = [.. request.Exclude],
                UseGitIgnore = request.UseGitIgnore,
                Created = DateTimeOffset.UtcNow,
            };
            Publish(Snapshot.Add(workspace));
            return workspace;
        }, cancellationToken);
    }

    public Task<WorkspaceDefinition> RemoveAsync(string name, CancellationToken cancellationToken) =>
        Lock.RunAsync("RemoveWorkspace", () =>
        {
            var workspace = Find(name);
            Publish(Snapshot.Remove(workspace));
            return workspace;
        }, cancellationToken);

    /// <summary>Attaches <paramref name="remote"/>, checking again under the lock that nothing clashes.</summary>
    public Task<WorkspaceDefinition> AddRemoteAsync(Guid workspaceId, RemoteDefinition remote, CancellationToken cancellationToken) =>
        Lock.RunAsync("ConnectRemote", () =>
        {
            var workspace = FindById(workspaceId)
                ?? throw new WsyncException(ErrorIds.WorkspaceNotFound, WsyncErrorCategory.ObjectNotFound, workspaceId.ToString(),
                    "The workspace was removed while the remote was being checked.");
            CheckRemoteIsNew(workspace, remote);
            var updated = workspace with { Remotes = [.. workspace.Remotes, remote] };
            Publish(Snapshot.Replace(workspace, updated));
            return updated;
        }, cancellationToken);

    public Task<(WorkspaceDefinition Workspace, RemoteDefinition Remote)> RemoveRemoteAsync(string workspaceName, string remoteName, CancellationToken cancellationToken) =>
        Lock.RunAsync("DisconnectRemote", () =>
        {
            var workspace = Find(workspaceName);
            var remote = FindRemote(workspace, remoteName);
            var updated = workspace with { Remotes = [.. workspace.Remotes.Where(r => r.Id != remote.Id)] };
            Publish(Snapshot.Replace(workspace, updated));
            return (updated, remote);
        }, cancellationToken);

    public Task<WorkspaceDefinition> SetSuspendedAsync(string name, bool suspended, CancellationToken cancellationToken) =>
        Lock.RunAsync(suspended ? "SuspendWorkspace" : "ResumeWorkspace", () =>
        {
            var workspace = Find(name);
            if (workspace.Suspended == suspended)
            {
                return workspace;
            }

            var updated = workspace with { Suspended = suspended };
            Publish(Snapshot.Replace(workspace, updated));
            return updated;
        }, cancellationToken);

    public static RemoteDefinition FindRemote(WorkspaceDefinition workspace, string name) =>
        workspace.Remotes.FirstOrDefault(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new WsyncException(ErrorIds.RemoteNotFound, WsyncErrorCategory.ObjectNotFound, name,
            $"The workspace '{workspace.Name}' has no remote named '{name}'. Get-WsyncRemote -Workspace '{workspace.Name}' lists them.");

    /// <summary>Refuses a remote whose name or destination the workspace already has.</summary>
    public static void CheckRemoteIsNew(WorkspaceDefinition workspace, RemoteDefinition remote)
    {
        var destination = Destination.Parse(remote.Destination, remote.Port);
        foreach (var existing in workspace.Remotes)
        {
            if (existing.Name.Equals(remote.Name, StringComparison.OrdinalIgnoreCase))
            {
                throw new WsyncException(ErrorIds.RemoteNameInUse, WsyncErrorCategory.ResourceExists, remote.Name,
                    $"The workspace '{workspace.Name}' already has a remote named '{existing.Name}' ({existing.Destination}). Choose another -Name.");
            }

            var other = Destination.Parse(existing.Destination, existing.Port);
            if (other.ToString() == destination.ToString() && (other.Port ?? 22) == (destination.Port ?? 22))
            {
                throw new WsyncException(ErrorIds.RemoteDestinationInUse, WsyncErrorCategory.ResourceExists, remote.Destination,
                    $"'{remote.Destination}' is already attached to '{workspace.Name}' as the remote '{existing.Name}'.");
            }
        }
    }

    /// <summary>Writes the new state to the file, then makes it the published one. A failed write publishes nothing.</summary>
    private void Publish(ImmutableList<WorkspaceDefinition> next)
    {
        try
        {
            store.Save(next);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new WsyncException(ErrorIds.StoreWriteFailed, WsyncErrorCategory.WriteError, store.FilePath,
                $"Could not write the workspace file '{store.FilePath}': {exception.Message}. Nothing was changed.", exception);
        }

        Volatile.Write(ref workspaces, next);
    }
}
