namespace Wsync.TestSupport;

/// <summary>A fresh directory under /tmp, removed on dispose. Short paths keep Unix socket paths short.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "wt")
    {
        Path = System.IO.Path.Combine("/tmp", $"{prefix}-{Guid.NewGuid().ToString("n")[..10]}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Creates and returns a subdirectory.</summary>
    public string CreateDirectory(params string[] parts)
    {
        var path = Combine(parts);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Removes the tree by bytes (names need not be UTF-8), making unreadable directories readable first.</summary>
    public void Dispose() => RawFiles.DeleteTree(Path);
}
