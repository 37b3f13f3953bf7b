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
    /// <summary>How long a starting daemon has to start listening.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long a daemon has to answer the handshake before it counts as wedged.</summary>
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>What <see cref="LaunchAsync"/>'s place reports when systemd started the daemon (a registered home).</summary>
    private const int UnitStarted = -1;

    /// <summary>Serialises connecting and starting, so that concurrent callers share one outcome.</summary>
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The open connection; null before the first call or after it was found dead. Guarded by <see cref="Gate"/>.</summary>
    private static Connection? current;

    /// <summary>
    /// This machine's runtime identifier, the folder under bin/ whose daemon and monitor it can run:
    /// linux-x64 or linux-arm64. The module ships one folder per architecture it was built for.
    /// </summary>
    public static string RuntimeIdentifier => "linux-" + RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();

    /// <summary>The module's bin/ folder, at ../bin from this assembly.</summary>
    private static string BinDirectory =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(typeof(DaemonClient).Assembly.Location)!)!, "bin");

    /// <summary>The daemon executable for this machine: bin/&lt;runtime identifier&gt;/wsyncd (the monitor sits beside it).</summary>
    public static string DaemonExecutable => Path.Combine(BinDirectory, RuntimeIdentifier, "wsyncd");

    /// <summary>
    /// The daemon of this environment's home; started first when <paramref name="autoStart"/> and none runs.
    /// Without <paramref name="autoStart"/>, no call through the session ever starts one (tab completion
    /// must not): a daemon that went away is then DaemonNotRunning, not restarted.
    /// </summary>
    /// <param name="notes">Receives what happened on the way (for -Verbose).</param>
    public static async Task<IWsyncDaemon> ConnectAsync(bool autoStart, ICollection<string> notes, CancellationToken cancellationToken)
    {
        var connection = await GetConnectionAsync(autoStart, notes, cancellationToken).ConfigureAwait(false);
        return new Session(connection, notes, autoStart);
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
            Connection connection;
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

    private static async Task<Connection> GetConnectionAsync(bool autoStart, ICollection<string> notes, CancellationToken cancellationToken)
    {
        var config = LoadConfig();
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Connection connection;
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
                    : await LaunchAsync(config, cancellationToken).ConfigureAwait(false);
                connection = await OpenWithRetryAsync(config, cancellationToken).ConfigureAwait(false);
                notes.Add(pid switch
                {
                    0 => $"Another caller started the daemon (pid {connection.Info.ProcessId}) at the same moment; connected to it on {connection.SocketPath}.",
                    UnitStarted => $"systemd started the wsync daemon (pid {connection.Info.ProcessId}, wsync {connection.Info.Version}); connected to it on {connection.SocketPath}.",
                    _ => $"Started {DaemonExecutable} (pid {pid}, wsync {connection.Info.Version}); connected to it on {connection.SocketPath}.",
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
    private static async Task<Connection> OpenOrReuseAsync(WsyncConfig config, CancellationToken cancellationToken)
    {
        if (current is { IsAlive: true } alive && alive.SocketPath == config.DaemonCommandSocketPath)
        {
            return alive;
        }

        current?.Dispose();
        current = null;
        current = await Connection.OpenAsync(config.DaemonCommandSocketPath, HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        return current;
    }

    private static async Task<Connection> OpenWithRetryAsync(WsyncConfig config, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await OpenOrReuseAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (WsyncException exception) when (exception.ErrorId == ErrorIds.DaemonNotRunning && deadline.Elapsed < StartTimeout)
            {
                await Task.Delay(25, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Restores the execute bits a package lost: a .nupkg is a zip, and Install-PSResource unpacks the
    /// daemon and the monitor as plain 0644 files. Only the owner of the module folder can fix that.
    /// </summary>
    private static void MakeExecutable(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(path);
        if ((mode & execute) == execute)
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(path, mode | execute);
        }
        catch (UnauthorizedAccessException)
        {
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.PermissionDenied, path,
                $"'{path}' is not executable (packages lose the bit) and only the module's owner can fix it: chmod +x '{path}'.");
        }
    }

    /// <summary>
    /// Starts wsyncd --detach and waits until it closes its output: then it listens (or has exited,
    /// and its stderr says why). Returns its pid.
    /// </summary>
    private static async Task<int> LaunchAsync(WsyncConfig config, CancellationToken cancellationToken)
    {
        var executable = DaemonExecutable;
        if (!File.Exists(executable))
        {
            var built = Directory.Exists(BinDirectory)
                ? string.Join(", ", Directory.GetDirectories(BinDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal))
                : "";
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.NotInstalled, executable,
                built.Length > 0 && !built.Split(", ").Contains(RuntimeIdentifier)
                    ? $"This copy of wsync has no daemon for {RuntimeIdentifier}, the architecture of this machine (it has {built}); install a package built for {RuntimeIdentifier}."
                    : $"The daemon executable '{executable}' is missing; reinstall the wsync module.");
        }

        MakeExecutable(executable);
        MakeExecutable(Path.Combine(Path.GetDirectoryName(executable)!, "wsync-monitor"));
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        start.ArgumentList.Add("--detach");
        start.ArgumentList.Add("--home");
        start.ArgumentList.Add(config.Home);

        using var process = Process.Start(start)
            ?? throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.ResourceUnavailable, executable, $"Could not start '{executable}'.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await Task.WhenAll(output, errors).WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new WsyncException(ErrorIds.DaemonStartFailed, WsyncErrorCategory.OperationTimeout, executable,
                $"The daemon did not start listening within {StartTimeout.TotalSeconds:0} s; see the log in {config.LogDirectory}.");
        }

        if (process.HasExited || process.WaitForExit(50))
        {
            var message = (await errors.ConfigureAwait(false)).Trim();
            switch ((DaemonExit)process.ExitCode)
            {
                case DaemonExit.Stopped:
                    break;
                case DaemonExit.AlreadyRunning: // another caller won the race; its socket answers shortly
                    return 0;
                case var exit:
                    throw new WsyncException(ErrorIds.DaemonStartFailed,
                        exit == DaemonExit.ConfigurationUnusable ? WsyncErrorCategory.InvalidData : WsyncErrorCategory.ResourceUnavailable,
                        config.Home, message.Length > 0 ? message : $"wsyncd exited with code {process.ExitCode}.");
            }
        }

        return process.Id;
    }

    /// <summary>
    /// The proxy every cmdlet call goes through: failures become WsyncExceptions, lost connections are
    /// reopened once for reads (starting the daemon again only when the session was opened with autoStart).
    /// </summary>
    private sealed class Session(Connection connection, ICollection<string> notes, bool autoStart) : IWsyncDaemon
    {
        private Connection connection = connection;

        public Task<DaemonInfo> HandshakeAsync(int protocolVersion, string clientVersion, CancellationToken cancellationToken) =>
            Read(d => d.HandshakeAsync(protocolVersion, clientVersion, cancellationToken), cancellationToken);

        public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken cancellationToken) =>
            Read(d => d.GetDaemonInfoAsync(cancellationToken), cancellationToken);

        public Task ShutdownAsync(CancellationToken cancellationToken) =>
            RpcErrors.Call(connection.Daemon.ShutdownAsync(cancellationToken), "daemon");

        public Task<Workspace> AddWorkspaceAsync(AddWorkspaceRequest request, CancellationToken cancellationToken) =>
            Write(d => d.AddWorkspaceAsync(request, cancellationToken));

        public Task<Workspace> RemoveWorkspaceAsync(string name, CancellationToken cancellationToken) =>
            Write(d => d.RemoveWorkspaceAsync(name, cancellationToken));

        public Task<IReadOnlyList<Workspace>> GetWorkspacesAsync(CancellationToken cancellationToken) =>
            Read(d => d.GetWorkspacesAsync(cancellationToken), cancellationToken);

        public Task<Remote> ConnectRemoteAsync(ConnectRemoteRequest request, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
            Write(d => d.ConnectRemoteAsync(request, progress, cancellationToken));

        public Task<Remote> DisconnectRemoteAsync(string workspace, string name, CancellationToken cancellationToken) =>
            Write(d => d.DisconnectRemoteAsync(workspace, name, cancellationToken));

        public Task<IReadOnlyList<Remote>> GetRemotesAsync(string? workspace, CancellationToken cancellationToken) =>
            Read(d => d.GetRemotesAsync(workspace, cancellationToken), cancellationToken);

        public Task<Workspace> SyncWorkspaceAsync(string name, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
            Write(d => d.SyncWorkspaceAsync(name, progress, cancellationToken));

        public Task<Workspace> WaitWorkspaceAsync(string name, int timeoutMilliseconds, CancellationToken cancellationToken) =>
            Write(d => d.WaitWorkspaceAsync(name, timeoutMilliseconds, cancellationToken));

        public Task<Workspace> SuspendWorkspaceAsync(string name, CancellationToken cancellationToken) =>
            Write(d => d.SuspendWorkspaceAsync(name, cancellationToken));

        public Task<Workspace> ResumeWorkspaceAsync(string name, bool force, CancellationToken cancellationToken) =>
            Write(d => d.ResumeWorkspaceAsync(name, force, cancellationToken));

        /// <summary>Not retried: a watch that lost its daemon ends, since the events in between are gone.</summary>
        public Task WatchAsync(WatchRequest request, IProgress<SyncEvent> events, CancellationToken cancellationToken) =>
            RpcErrors.Call(connection.Daemon.WatchAsync(request, events, cancellationToken), "daemon");

        /// <summary>A call that changes nothing: retried once on a fresh connection if the daemon went away.</summary>
        private async Task<T> Read<T>(Func<IWsyncDaemon, Task<T>> call, CancellationToken cancellationToken)
        {
            try
            {
                return await RpcErrors.Call(call(connection.Daemon), "daemon").ConfigureAwait(false);
            }
            catch (WsyncException exception) when (exception.ErrorId == ErrorIds.DaemonUnreachable)
            {
                connection = await GetConnectionAsync(autoStart, notes, cancellationToken).ConfigureAwait(false);
                return await RpcErrors.Call(call(connection.Daemon), "daemon").ConfigureAwait(false);
            }
        }

        /// <summary>A call that changes state: never repeated, since the first may have been applied.</summary>
        private Task<T> Write<T>(Func<IWsyncDaemon, Task<T>> call) => RpcErrors.Call(call(connection.Daemon), "daemon");
    }

    /// <summary>One open, handshaken connection to a daemon.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly WsyncJsonRpc rpc;

        private Connection(string socketPath, WsyncJsonRpc rpc, IWsyncDaemon daemon, DaemonInfo info)
        {
            SocketPath = socketPath;
            this.rpc = rpc;
            Daemon = daemon;
            Info = info;
        }

        public string SocketPath { get; }

        public IWsyncDaemon Daemon { get; }

        public DaemonInfo Info { get; }

        public bool IsAlive => !rpc.Completion.IsCompleted;

        /// <summary>Connects and handshakes. DaemonNotRunning when nothing listens; DaemonUnreachable when it does not answer.</summary>
        public static async Task<Connection> OpenAsync(string socketPath, TimeSpan handshakeTimeout, CancellationToken cancellationToken)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException exception)
            {
                socket.Dispose();
                throw new WsyncException(ErrorIds.DaemonNotRunning, WsyncErrorCategory.ResourceUnavailable, socketPath,
                    $"No wsync daemon listens on {socketPath} ({exception.SocketErrorCode}). Start-WsyncDaemon starts it.", exception);
            }

            var rpc = RpcChannel.Create(new NetworkStream(socket, ownsSocket: true));
            var daemon = rpc.Attach<IWsyncDaemon>();
            rpc.StartListening();
            try
            {
                var info = await RpcErrors.Call(daemon.HandshakeAsync(ProtocolInfo.Version, ProtocolInfo.ProductVersion, cancellationToken), "daemon")
                    .WaitAsync(handshakeTimeout, cancellationToken).ConfigureAwait(false);
                return new Connection(socketPath, rpc, daemon, info);
            }
            catch (TimeoutException exception)
            {
                rpc.Dispose();
                throw new WsyncException(ErrorIds.DaemonUnreachable, WsyncErrorCategory.OperationTimeout, socketPath,
                    $"The daemon on {socketPath} accepted the connection but did not answer within {handshakeTimeout.TotalSeconds:0} s.", exception);
            }
            catch
            {
                rpc.Dispose();
                throw;
            }
        }

        public void Dispose() => rpc.Dispose();
    }
}
