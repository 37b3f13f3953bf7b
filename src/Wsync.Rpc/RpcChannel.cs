using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Wsync.Rpc;

/// <summary>Builds the JSON-RPC connections of every wsync channel the same way.</summary>
public static class RpcChannel
{
    /// <summary>
    /// Creates a connection over a duplex stream (a Unix socket) or a pair of pipes (a monitor's stdio).
    /// The caller adds targets, attaches proxies, then calls <see cref="JsonRpc.StartListening"/>.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Every payload type has generated serialization code in WireJsonContext; see CreateOptions.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Every payload type has generated serialization code in WireJsonContext; see CreateOptions.")]
    public static WsyncJsonRpc Create(Stream sending, Stream receiving)
    {
        var formatter = new SystemTextJsonFormatter { JsonSerializerOptions = CreateOptions() };

        // Progress reports cross the monitor channel and events the daemon's socket; registering the type spares the formatter from
        // building its converter at run time, which the natively compiled monitor cannot do.
        formatter.RegisterGenericType<SyncProgress>();
        formatter.RegisterGenericType<SyncEvent>();
        var handler = new HeaderDelimitedMessageHandler(sending, receiving, formatter);
        return new WsyncJsonRpc(handler);
    }

    public static WsyncJsonRpc Create(Stream duplex) => Create(duplex, duplex);

    /// <summary>
    /// Serves <typeparamref name="TContract"/>'s methods (and no others of <paramref name="target"/>),
    /// described without code generated at run time, so that natively compiled processes can serve too.
    /// </summary>
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "FromInterface closes generic types only to raise events with value-type arguments; wsync's contracts declare no events.")]
    public static void AddTarget<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods | DynamicallyAccessedMemberTypes.PublicEvents | DynamicallyAccessedMemberTypes.Interfaces)] TContract>(
        JsonRpc rpc, TContract target)
        where TContract : class
    {
        rpc.AddLocalRpcTarget(RpcTargetMetadata.FromInterface(new RpcTargetMetadata.InterfaceCollection(typeof(TContract))), target, null);
    }

    /// <summary>
    /// Web defaults, enums by name. Payloads are serialized by the code generated in
    /// <see cref="WireJsonContext"/>. Where the runtime can generate code (the module's engine, the
    /// tests), reflection stays behind it as before, for anything the context lacks.
    /// </summary>
    private static JsonSerializerOptions CreateOptions()
    {
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            return new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = WireJsonContext.Default };
        }

        return new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = JsonTypeInfoResolver.Combine(WireJsonContext.Default, new DefaultJsonTypeInfoResolver()),
            Converters = { new JsonStringEnumConverter() },
        };
    }
}

/// <summary>
/// A <see cref="JsonRpc"/> that carries <see cref="WsyncException"/> across the wire: a server's
/// WsyncException becomes an error with code <see cref="WsyncException.RpcErrorCode"/> and
/// <see cref="WsyncErrorData"/>, and <see cref="RpcErrors.Translate"/> turns it back on the client.
/// </summary>
public sealed class WsyncJsonRpc(IJsonRpcMessageHandler handler) : JsonRpc(handler)
{
    protected override JsonRpcError.ErrorDetail CreateErrorDetails(JsonRpcRequest request, Exception exception)
    {
        var wsync = Unwrap(exception);
        if (wsync is not null)
        {
            return new JsonRpcError.ErrorDetail
            {
                Code = (JsonRpcErrorCode)WsyncException.RpcErrorCode,
                Message = wsync.Message,
                Data = wsync.ToData(),
            };
        }

        return base.CreateErrorDetails(request, exception);
    }

    protected override Type? GetErrorDetailsDataType(JsonRpcError error) =>
        (int?)error.Error?.Code == WsyncException.RpcErrorCode ? typeof(WsyncErrorData) : base.GetErrorDetailsDataType(error);

    private static WsyncException? Unwrap(Exception? exception)
    {
        while (exception is not null)
        {
            switch (exception)
            {
                case WsyncException wsync:
                    return wsync;
                case TargetInvocationException or AggregateException:
                    exception = exception.InnerException;
                    break;
                default:
                    return null;
            }
        }

        return null;
    }
}

/// <summary>Turns JSON-RPC failures into the <see cref="WsyncException"/>s the rest of wsync speaks.</summary>
public static class RpcErrors
{
    /// <summary>Maps a failed call's exception; <paramref name="peer"/> names the other side in messages.</summary>
    public static Exception Translate(Exception exception, string peer)
    {
        switch (exception)
        {
            case WsyncException:
                return exception;
            case RemoteInvocationException { DeserializedErrorData: WsyncErrorData data } remote:
                return new WsyncException(data.ErrorId, data.Category, data.Target, remote.Message);
            case RemoteInvocationException remote:
                return new WsyncException(ErrorIds.DaemonInternalError, WsyncErrorCategory.NotSpecified, null,
                    $"The {peer} failed: {remote.Message}", remote);
            case ConnectionLostException or ObjectDisposedException or IOException:
                return new WsyncException(ErrorIds.DaemonUnreachable, WsyncErrorCategory.ConnectionError, null,
                    $"The connection to the {peer} was lost ({exception.Message}).", exception);
            case RemoteMethodNotFoundException:
                return new WsyncException(ErrorIds.ProtocolMismatch, WsyncErrorCategory.ProtocolError, null,
                    $"The {peer} does not know this call; it is another version. {exception.Message}", exception);
            default:
                return exception;
        }
    }

    /// <summary>Awaits a remote call and rethrows its failure as a <see cref="WsyncException"/>.</summary>
    public static async Task<T> Call<T>(Task<T> call, string peer)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw Translate(exception, peer);
        }
    }

    public static async Task Call(Task call, string peer)
    {
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw Translate(exception, peer);
        }
    }
}
