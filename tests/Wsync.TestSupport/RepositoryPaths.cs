namespace Wsync.TestSupport;

/// <summary>Where the built module lives: out/wsync in the repository (build.ps1 Build makes it).</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Module => Path.Combine(Root, "out", "wsync");

    /// <summary>This machine's folder of native executables in the module: bin/linux-x64 or bin/linux-arm64.</summary>
    public static string Bin => Path.Combine(Module, "bin", "linux-" + System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant());

    public static string Daemon => Path.Combine(Bin, "wsyncd");

    public static string Monitor => Path.Combine(Bin, "wsync-monitor");

    public static string Agent => Path.Combine(Bin, "wsync-agent");

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
