using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Wsync.Daemon;

/// <summary>The workspace file cannot be used as it is; names the file and, when known, the position.</summary>
internal sealed class WorkspaceFileException(string path, string message, Exception? inner = null)
    : Exception($"{path}: {message}", inner)
{
    public string FilePath { get; } = path;
}

/// <summary>
/// The workspace file: a JSON array of <see cref="WorkspaceDefinition"/>. Read strictly (unknown keys,
/// wrong types and duplicate ids are errors, never silently repaired) and written atomically: a temporary
/// file in the same directory, fsync, rename, fsync of the directory. A crash leaves the old file or the
/// new one, never half of either. The file it replaces is kept as <c>.bak</c>.
/// </summary>
internal sealed class WorkspaceStore(string path)
{
    private static readonly UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly JsonSerializerOptions Options = new()
    {
        TypeInfoResolver = WorkspaceJsonContext.Default,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        AllowDuplicateProperties = false,
    };

    public string FilePath { get; } = path;

    /// <summary>Reads the file, creating it as <c>[]</c> (mode 0600) when it does not exist.</summary>
    /// <exception cref="WorkspaceFileException">The file is unreadable, malformed or inconsistent.</exception>
    public IReadOnlyList<WorkspaceDefinition> LoadOrCreate()
    {
        if (Directory.Exists(FilePath))
        {
            throw new WorkspaceFileException(FilePath, "is a directory, not the workspace file; move it away, or set WorkspaceConfigFilePath to a file.");
        }

        if (!File.Exists(FilePath))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            Save([]);
            return [];
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(FilePath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new WorkspaceFileException(FilePath, $"cannot be read: {exception.Message}", exception);
        }

        List<WorkspaceDefinition>? workspaces;
        try
        {
            workspaces = JsonSerializer.Deserialize(bytes, TypeInfo<List<WorkspaceDefinition>>());
        }
        catch (JsonException exception)
        {
            var where = exception.LineNumber is { } line
                ? $"line {line + 1}, position {(exception.BytePositionInLine ?? 0) + 1}: "
                : "";
            throw new WorkspaceFileException(FilePath, $"{where}{exception.Message} Fix or move the file; wsync never overwrites it.", exception);
        }

        if (workspaces is null)
        {
            throw new WorkspaceFileException(FilePath, "holds null; expected a JSON array of workspaces ([] when there are none).");
        }

        for (var index = 0; index < workspaces.Count; index++)
        {
            if (workspaces[index] is { } workspace)
            {
                workspaces[index] = WithOmittedLists(workspace);
            }
        }

        Check(workspaces);
        return workspaces;
    }

    /// <summary>
    /// A list the file omits is empty. The generated deserializer sets an omitted init-only property
    /// to null rather than leave its initializer (<c>= []</c>) as reflection did.
    /// </summary>
    private static WorkspaceDefinition WithOmittedLists(WorkspaceDefinition workspace) => workspace with
    {
        Exclude = workspace.Exclude ?? [],
        Remotes = workspace.Remotes is null ? [] : [.. workspace.Remotes.Select(WithOmittedLists)],
    };

    private static RemoteDefinition WithOmittedLists(RemoteDefinition remote) =>
        remote is null ? remote! : remote with { SshOptions = remote.SshOptions ?? [] };

    /// <summary>Replaces the file's content atomically; the previous content is kept as <c>.bak</c>.</summary>
    public void Save(IReadOnlyList<WorkspaceDefinition> workspaces)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(workspaces, TypeInfo<IReadOnlyList<WorkspaceDefinition>>());
        var directory = Path.GetDirectoryName(FilePath)!;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(FilePath)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = PrivateFile,
        };
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(bytes);
            stream.Write("\n"u8);
            stream.Flush(flushToDisk: true);
        }

        File.SetUnixFileMode(temporary, PrivateFile);
        if (File.Exists(FilePath))
        {
            File.Copy(FilePath, FilePath + ".bak", overwrite: true);
            File.SetUnixFileMode(FilePath + ".bak", PrivateFile);
        }

        File.Move(temporary, FilePath, overwrite: true);
        Native.FSyncDirectory(directory);
    }

    /// <summary>What the JSON schema cannot say: ids and names unique, paths absolute, destinations parseable.</summary>
    private void Check(List<WorkspaceDefinition> workspaces)
    {
        var ids = new HashSet<Guid>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var index = 0; index < workspaces.Count; index++)
        {
            var workspace = workspaces[index];
            if (workspace is null)
            {
                throw new WorkspaceFileException(FilePath, $"workspace #{index + 1} is null.");
            }

            var where = $"workspace #{index + 1} ('{workspace.Name}')";

            if (!ids.Add(workspace.Id))
            {
                throw new WorkspaceFileException(FilePath, $"{where} repeats the id {workspace.Id}.");
            }

            if (!names.Add(workspace.Name))
            {
                throw new WorkspaceFileException(FilePath, $"{where} repeats the name '{workspace.Name}'.");
            }

            if (!Path.IsPathFullyQualified(workspace.Path))
            {
                throw new WorkspaceFileException(FilePath, $"{where} has a relative path '{workspace.Path}'.");
            }

            var remoteNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var remote in workspace.Remotes)
            {
                if (!ids.Add(remote.Id))
                {
                    throw new WorkspaceFileException(FilePath, $"{where}: remote '{remote.Name}' repeats the id {remote.Id}.");
                }

                if (!remoteNames.Add(remote.Name))
                {
                    throw new WorkspaceFileException(FilePath, $"{where} has two remotes named '{remote.Name}'.");
                }

                try
                {
                    Destination.Parse(remote.Destination, remote.Port);
                }
                catch (WsyncException exception)
                {
                    throw new WorkspaceFileException(FilePath, $"{where}, remote '{remote.Name}': {exception.Message}");
                }
            }
        }
    }

    /// <summary><see cref="Options"/>' serialization code for <typeparamref name="T"/>, from <see cref="WorkspaceJsonContext"/>.</summary>
    private static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

    /// <summary>The file's bytes as they would be written, for tests and diagnostics.</summary>
    internal static string Serialize(IReadOnlyList<WorkspaceDefinition> workspaces) =>
        Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(workspaces, TypeInfo<IReadOnlyList<WorkspaceDefinition>>()));
}

/// <summary>
/// The workspace file's serialization code, generated at build time for the natively compiled daemon.
/// Enums are written by name.
/// </summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(List<WorkspaceDefinition>))]
[JsonSerializable(typeof(IReadOnlyList<WorkspaceDefinition>))]
internal sealed partial class WorkspaceJsonContext : JsonSerializerContext;
