using StreamJsonRpc;

namespace Wsync.Daemon;

// The daemon is compiled ahead of time (PublishAot), where StreamJsonRpc cannot emit a proxy at run
// time: the proxy is generated at build time from a contract instead. It is declared here because
// Wsync.Protocol stays free of dependencies (the module loads it in the default load context).

/// <summary>
/// <see cref="IMonitor"/> as a JSON-RPC contract, so that the build generates its proxy
/// (EnableStreamJsonRpcInterceptors routes <c>Attach&lt;IMonitorContract&gt;</c> to it).
/// It adds nothing: the methods and their names on the wire are <see cref="IMonitor"/>'s.
/// </summary>
// No [GenerateShape] (StreamJsonRpc0008): that shape is for MessagePack formatters, and through the
// IProgress<T> parameters it would describe StreamJsonRpc's own JsonRpc class, which cannot be.
#pragma warning disable StreamJsonRpc0008
[JsonRpcContract]
internal partial interface IMonitorContract : IMonitor;
#pragma warning restore StreamJsonRpc0008
