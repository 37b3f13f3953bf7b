namespace Wsync.Daemon;

/// <summary>What clients read: the stored definitions merged with the monitors' supervision and live status.</summary>
internal static class Views
{
    /// <summary>A workspace as the client sees it: its definition merged with its monitor's supervision and last status.</summary>
    public static Workspace Of(WorkspaceDefinition workspace, MonitorHandle? handle)
    {
        var status = handle?.Status;
        var (supervision, reason) = handle?.Supervision ?? (SupervisionState.Stopped, null);
        var remotes = workspace.Remotes.Select(r => Of(workspace, r, handle)).ToList();
        var state = supervision switch
        {
            SupervisionState.Failed => WorkspaceState.Failed,
            SupervisionState.Stopped => WorkspaceState.Stopped,
            _ when status?.State is WorkspaceState.Halted or WorkspaceState.Failed => status.State,
            _ when workspace.Suspended => WorkspaceState.Suspended,
            _ when status is null => WorkspaceState.Starting,
            _ => status.State == WorkspaceState.Suspended ? WorkspaceState.Watching : status.State,
        };
        return new Workspace
        {
            Id = workspace.Id,
            Name = workspace.Name,
            Path = workspace.Path,
            State = state,
            StateReason = supervision == SupervisionState.Failed ? reason : status?.Reason,
            Remotes = remotes,
            Exclude = workspace.Exclude,
            UseGitIgnore = workspace.UseGitIgnore,
            PendingChanges = remotes.Count == 0 ? 0 : remotes.Max(r => r.PendingChanges),
            LastSyncTime = remotes.Count == 0 || remotes.Any(r => r.LastSyncTime is null) ? null : remotes.Min(r => r.LastSyncTime),
            MonitorProcessId = handle?.ProcessId,
            WatchedDirectories = status?.WatchedDirectories ?? 0,
            Warning = status?.Warning,
            Created = workspace.Created,
        };
    }

    /// <summary>A remote's view with a fresher status (a call's own result).</summary>
    public static Remote WithStatus(Remote view, RemoteStatus status) => view with
    {
        State = status.State,
        LastSyncTime = status.LastSyncTime,
        PendingChanges = status.PendingChanges,
        BytesSent = status.BytesSent,
        FilesSent = status.FilesSent,
        LastError = status.LastError,
        Progress = status.Progress,
        Transport = status.Transport,
        TransportReason = status.TransportReason,
        DriftCount = status.DriftCount,
        LastDrift = status.LastDrift,
    };

    /// <summary>A remote as the client sees it: its definition merged with its loop's last status.</summary>
    public static Remote Of(WorkspaceDefinition workspace, RemoteDefinition remote, MonitorHandle? handle)
    {
        var destination = Destination.Parse(remote.Destination, remote.Port);
        var status = handle?.Status?.Remotes.FirstOrDefault(s => s.RemoteId == remote.Id);
        var supervision = handle?.Supervision.State ?? SupervisionState.Stopped;
        var state = supervision is SupervisionState.Failed or SupervisionState.Stopped
            ? RemoteState.Stopped
            : workspace.Suspended
                ? RemoteState.Suspended
                : status?.State is null or RemoteState.Suspended ? RemoteState.Connecting : status.State;
        return new Remote
        {
            Id = remote.Id,
            Name = remote.Name,
            Workspace = workspace.Name,
            WorkspaceId = workspace.Id,
            Destination = remote.Destination,
            Kind = destination.Kind,
            User = destination.User,
            Host = destination.Host,
            Port = destination.Port,
            Path = destination.Path,
            IdentityFile = remote.IdentityFile,
            SshOptions = remote.SshOptions,
            State = state,
            LastSyncTime = status?.LastSyncTime,
            PendingChanges = status?.PendingChanges ?? 0,
            BytesSent = status?.BytesSent ?? 0,
            FilesSent = status?.FilesSent ?? 0,
            LastError = status?.LastError,
            Progress = status?.Progress,
            Transport = status?.Transport ?? RemoteTransport.Rsync,
            TransportReason = status is null ? "Not running" : status.TransportReason,
            DriftAction = remote.DriftAction,
            DriftCount = status?.DriftCount ?? 0,
            LastDrift = status?.LastDrift,
            Created = remote.Created,
        };
    }
}
