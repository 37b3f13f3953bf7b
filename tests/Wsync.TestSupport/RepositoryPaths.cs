namespace Wsync.TestSupport;

/// <summary>Where the built module lives: out/wsync in the repository (build.ps1 Build makes it).</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Module => Path.Combine(Root, "out", "wsync");

    public static string Daemon => Path.Combine(Module, "bin", "wsyncd");

    public static string Monitor => Path.Combine(Module, "bin", "wsync-monitor");

    private static string FindRoot()
    {
        var here = Path.GetDirectoryName(typeof(RepositoryPaths).Assembly.Location)!;
        for (var directory = new DirectoryInfo(here); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Wsync.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Wsync.sln) above " + here);
    }
}
