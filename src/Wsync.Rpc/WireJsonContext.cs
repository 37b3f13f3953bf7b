using System.Text.Json;
using System.Text.Json.Serialization;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Wsync.Rpc;

/// <summary>
/// Serialization code, generated at build time, for every type that crosses a wsync JSON-RPC channel:
/// the parameters and results of <see cref="IWsyncDaemon"/>, <see cref="IMonitor"/> and
/// <see cref="IMonitorHost"/>, and the <c>error.data</c> of failures. The natively compiled daemon and
/// monitor have nothing else to serialize with, so a type added to a contract must be added here.
/// The options match <see cref="RpcChannel"/>'s: web defaults, enums by name. <see cref="RequestId"/> is
/// the parameter of <c>$/cancelRequest</c>: without it a native process cannot read a cancellation, and a
/// cancelled call (a watch ended by Ctrl+C) would run on.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(DaemonInfo))]
[JsonSerializable(typeof(Workspace))]
[JsonSerializable(typeof(IReadOnlyList<Workspace>))]
[JsonSerializable(typeof(Remote))]
[JsonSerializable(typeof(IReadOnlyList<Remote>))]
[JsonSerializable(typeof(AddWorkspaceRequest))]
[JsonSerializable(typeof(ConnectRemoteRequest))]
[JsonSerializable(typeof(SyncProgress))]
[JsonSerializable(typeof(IProgress<SyncProgress>))]
[JsonSerializable(typeof(WorkspaceDefinition))]
[JsonSerializable(typeof(WorkspaceStatus))]
[JsonSerializable(typeof(RemoteStatus))]
[JsonSerializable(typeof(FlushResult))]
[JsonSerializable(typeof(RemoteDefinition))]
[JsonSerializable(typeof(ProbeFailure))]
[JsonSerializable(typeof(ProbeResult))]
[JsonSerializable(typeof(SyncEvent))]
[JsonSerializable(typeof(IProgress<SyncEvent>))]
[JsonSerializable(typeof(WatchRequest))]
[JsonSerializable(typeof(WsyncErrorData))]
[JsonSerializable(typeof(CommonErrorData))]
[JsonSerializable(typeof(RequestId))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
