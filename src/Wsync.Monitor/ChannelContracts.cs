using PolyType;
using StreamJsonRpc;

namespace Wsync.Monitor;

// The monitor is compiled ahead of time (PublishAot), where StreamJsonRpc cannot emit a proxy at run
// time: the proxy is generated at build time from a contract instead. It is declared here because
// Wsync.Protocol stays free of dependencies (the module loads it in the default load context).

/// <summary>
/// <see cref="IMonitorHost"/> as a JSON-RPC contract, so that the build generates its proxy
/// (EnableStreamJsonRpcInterceptors routes <c>Attach&lt;IMonitorHostContract&gt;</c> to it).
/// It adds nothing: the methods and their names on the wire are <see cref="IMonitorHost"/>'s.
/// </summary>
[JsonRpcContract, GenerateShape(IncludeMethods = MethodShapeFlags.PublicInstance)]
internal partial interface IMonitorHostContract : IMonitorHost;
