using Wsync.Monitor.Watching;
using Wsync.Platform;

namespace Wsync.Monitor;

/// <summary>
/// The workspace's exclusion rules as a file rsync reads (--filter=. FILE), in the private runtime directory:
/// the same rules the watcher applies, so what is watched and what is sent always agree. Absent while the
/// workspace has no rules.
/// </summary>
internal sealed class FilterFile(Guid workspaceId)
{
    private readonly string path = Path.Combine(WsyncConfig.PrivateRuntimeDirectory(), $"{workspaceId:n}.filter");

    /// <summary>The file, for rsync; null when the workspace has no rules.</summary>
    public string? Current => File.Exists(path) ? path : null;

    /// <summary>Writes <paramref name="filter"/>'s rules (temporary file, then rename), or removes the file when there are none.</summary>
    public void Write(PathFilter filter)
    {
        if (filter.IsEmpty)
        {
            Delete();
            return;
        }

        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, LinuxPath.ToBytes(filter.ToRsyncRules())); // a directory's name may not be UTF-8
        File.Move(temporary, path, overwrite: true);
    }

    public void Delete() => File.Delete(path);
}
