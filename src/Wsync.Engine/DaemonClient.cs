using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Wsync.Rpc;
using Wsync.Platform;

namespace Wsync.Engine;

/// <summary>
/// The module's way to the daemon: one connection per process and socket, reused by every cmdlet,
/// re-opened when the daemon restarted, and the daemon started (detached) when none answers.
/// </summary>
public static class DaemonClient
{

    /// <summary>How long a daemon has to answer the handshake before it counts as wedged.</summary>
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>What <see cref="LaunchAsync"/>'s place reports when systemd started the daemon (a registered home).</summary>
    private const int UnitStarted = -1;

    /// <summary>Serialises connecting and starting, so that concurrent callers share one outcome.</summary>
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The open connection; null before the first call or after it was found dead. Guarded by <see cref="Gate"/>.</summary>
    private static DaemonConnection? current;

    /// <summary>
    /// The daemon of this environment's home; started first when <paramref name="autoStart"/> and none runs.
    /// Without <paramref name="autoStart"/>, no call through the session ever starts one (tab completion
    /// must not): a daemon that went away is then DaemonNotRunning, not restarted.
    /// </summary>
    /// <param name="notes">Receives what happened on the way (for -Verbose).</param>
    public static async Task<IWsyncDaemon> ConnectAsync(bool autoStart, ICollection<string> notes, CancellationToken cancellationToken)
    {
        var connection = await GetConnectionAsync(autoStart, notes, cancellationToken).ConfigureAwait(false);
        return new DaemonSession(connection, notes, autoStart);
    }

    /// <summary>The running daemon's info, or null when none answers. Never starts one.</summary>
    public static async Task<DaemonInfo?> TryGetInfoAsync(CancellationToken cancellationToken)
    {
        try
        {
            var connection = await GetConnectionAsync(autoStart: false, [], cancellationToken).ConfigureAwait(false);
            return await RpcErrors.Call(connection.Daemon.GetDaemonInfoAsync(cancellationToken), "daemon").ConfigureAwait(false);
        }
        catch (WsyncException exception) when (exception.ErrorId is ErrorIds.DaemonNotRunning or ErrorIds.DaemonUnreachable)
        {
            return null;
        }
    }

    /// <summary>Drops the open connection: the daemon behind it was just replaced (systemctl restart), and may not have closed it yet.</summary>
    public static async Task ForgetConnectionAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current?.Dispose();
            current = null;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Starts the daemon unless one runs; returns its info either way.</summary>
    public static async Task<DaemonInfo> StartAsync(ICollection<string> notes, CancellationToken cancellationToken)
    {
        var connection = await GetConnectionAsync(autoStart: true, notes, cancellationToken).ConfigureAwait(false);
        return connection.Info;
    }

    /// <summary>Asks the daemon to stop and waits until its process is gone. False when none was running.</summary>
    public static async Task<bool> StopAsync(TimeSpan timeout, ICollection<string> notes, CancellationToken cancellationToken)
    {
        DaemonInfo info;
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DaemonConnection connection;
            try
            {
                connection = await OpenOrReuseAsync(WsyncConfig.Load(WsyncConfig.ResolveHome()), cancellationToken).ConfigureAwait(false);
            }
            catch (WsyncException exception) when (exception.ErrorId is ErrorIds.DaemonNotRunning)
            {
                return false;
            }

            info = connection.Info;
            notes.Add($"Stopping daemon {info.ProcessId} on {info.SocketPath}");
            await RpcErrors.Call(connection.Daemon.ShutdownAsync(cancellationToken), "daemon").ConfigureAwait(false);
            connection.Dispose();
            current = null;
        }
        finally
        {
            Gate.Release();
        }

        var deadline = Stopwatch.StartNew();
        while (ProcFs.IsAlive(info.ProcessId))
        {
            if (deadline.Elapsed > timeout)
            {
                throw new WsyncException(ErrorIds.DaemonUnreachable, WsyncErrorCategory.OperationTimeout, info.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"The daemon (pid {info.ProcessId}) did not exit within {timeout.TotalSeconds:0} s; it may be stuck ending a monitor. `kill {info.ProcessId}` ends it.");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>The open connection, re-opened when dead; the daemon started first when <paramref name="autoStart"/> and none answers.</summary>
    internal static async Task<DaemonConnection> GetConnectionAsync(bool autoStart, ICollection<string> notes, CancellationToken cancellationToken)
    {
        var config = LoadConfig();
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DaemonConnection connection;
            var reused = current is { IsAlive: true } open && open.SocketPath == config.DaemonCommandSocketPath;
            try
            {
                connection = await OpenOrReuseAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (WsyncException exception) when (autoStart && exception.ErrorId == ErrorIds.DaemonNotRunning)
            {
                notes.Add($"No wsync daemon answers on {config.DaemonCommandSocketPath}; starting it for {config.Home}.");
                var pid = await DaemonRegistration.TryStartUnitAsync(config.Home, notes, cancellationToken).ConfigureAwait(false)
                    ? UnitStarted
                    : await DaemonLauncher.LaunchAsync(config, cancellationToken).ConfigureAwait(false);
                connection = await OpenWithRetryAsync(config, cancellationToken).ConfigureAwait(false);
                notes.Add(pid switch
                {
                    0 => $"Another caller started the daemon (pid {connection.Info.ProcessId}) at the same moment; connected to it on {connection.SocketPath}.",
                    UnitStarted => $"systemd started the wsync daemon (pid {connection.Info.ProcessId}, wsync {connection.Info.Version}); connected to it on {connection.SocketPath}.",
                    _ => $"Started {DaemonLauncher.DaemonExecutable} (pid {pid}, wsync {connection.Info.Version}); connected to it on {connection.SocketPath}.",
                });
                return connection;
            }

            notes.Add(reused
                ? $"Using the open connection to the wsync daemon (pid {connection.Info.ProcessId}) on {connection.SocketPath}."
                : $"The wsync daemon already runs (pid {connection.Info.ProcessId}, wsync {connection.Info.Version}); connected to it on {connection.SocketPath}.");
            return connection;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static WsyncConfig LoadConfig()
    {
        try
        {
            var config = WsyncConfig.Load(WsyncConfig.ResolveHome());
            if (Encoding.UTF8.GetByteCount(config.DaemonCommandSocketPath) > WsyncConfig.MaxSocketPathBytes)
            {
                throw new WsyncException(ErrorIds.SocketPathTooLong, WsyncErrorCategory.InvalidArgument, config.DaemonCommandSocketPath,
                    $"DaemonCommandSocketPath is longer than {WsyncConfig.MaxSocketPathBytes} bytes, the limit of a Unix socket path; set a shorter one in {config.ConfigFilePath}.");
            }

            return config;
        }
        catch (WsyncConfigException exception)
        {
            throw new WsyncException(ErrorIds.ConfigInvalid, WsyncErrorCategory.InvalidData, exception.File, exception.Message, exception);
        }
    }

    /// <summary>Reuses the open connection when it is alive and for the same socket; else opens one.</summary>
    private static async Task<DaemonConnection> OpenOrReuseAsync(WsyncConfig config, CancellationToken cancellationToken)
    {
        if (current is { IsAlive: true } alive && alive.SocketPath == config.DaemonCommandSocketPath)
        {
            return alive;
        }

        current?.Dispose();
        current = null;
        current = await DaemonConnection.OpenAsync(config.DaemonCommandSocketPath, HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        return current;
    }

    private static async Task<DaemonConnection> OpenWithRetryAsync(WsyncConfig config, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await OpenOrReuseAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (WsyncException exception) when (exception.ErrorId == ErrorIds.DaemonNotRunning && deadline.Elapsed < DaemonLauncher.StartTimeout)
            {
                await Task.Delay(25, cancellationToken).ConfigureAwait(false);
            }
        }
    }

}
