using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Wsync.Commands;

/// <summary>
/// Runs when the module is imported: from then on, the first use of the engine assembly loads it, and
/// everything it depends on (StreamJsonRpc and its dependencies), from <c>dependencies/</c> into a
/// context of the module's own. Another module's StreamJsonRpc, of whatever version, never meets ours.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveEngine;

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == EngineLoadContext.EngineAssemblyName ? EngineLoadContext.Instance.LoadFromAssemblyName(name) : null;
}

/// <summary>The module's private load context: whatever is in <c>dependencies/</c>, and nothing else.</summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    public const string EngineAssemblyName = "Wsync.Engine";

    private readonly string directory;

    private EngineLoadContext(string directory)
        : base("wsync", isCollectible: false)
    {
        this.directory = directory;
    }

    public static EngineLoadContext Instance { get; } =
        new(Path.Combine(Path.GetDirectoryName(typeof(EngineLoadContext).Assembly.Location)!, "dependencies"));

    /// <summary>An assembly from dependencies/, or null so the default context supplies it (the framework, the contract).</summary>
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = Path.Combine(directory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
