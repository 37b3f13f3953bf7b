using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Wsync.Bench;

/// <summary>A workspace mirrored to one or more loopback remotes by one of the contenders.</summary>
internal interface IMirror : IAsyncDisposable
{
    string Name { get; }

    string Workspace { get; }

    /// <summary>The remote directories, as paths on this machine (the remotes are loopback).</summary>
    IReadOnlyList<string> Remotes { get; }
}

internal static class Contender
{
    public const string Wsync = "wsync";
    public const string WsyncRsync = "wsync, -Transport Rsync";
    public const string WsyncBash = "wsync, bash account (100 ms .bashrc)";
    public const string WsyncRsyncBash = "wsync, -Transport Rsync, bash account (100 ms .bashrc)";
    public const string LsyncdTuned = "lsyncd (delay=0, ControlMaster)";
    public const string LsyncdDefault = "lsyncd (defaults)";
    public const string Rsync = "one-shot rsync -a";

    /// <summary>Writes a file into the mirror's workspace and waits until every remote holds it: the mirror is live.</summary>
    public static async Task WaitLiveAsync(IMirror mirror, LandingProbe probe, TimeSpan timeout)
    {
        var content = await WriteReadyAsync(mirror.Workspace);
        await WaitReadyAsync(mirror, probe, content, timeout);
    }

    public static async Task<byte[]> WriteReadyAsync(string workspace)
    {
        var content = Encoding.UTF8.GetBytes("ready " + Guid.NewGuid());
        await File.WriteAllBytesAsync(Path.Combine(workspace, ".bench-ready"), content);
        return content;
    }

    public static Task WaitReadyAsync(IMirror mirror, LandingProbe probe, byte[] content, TimeSpan timeout) =>
        LandingProbe.WhenAll(mirror.Remotes.Select(r => (Path.Combine(r, ".bench-ready"), probe.Expect(Path.Combine(r, ".bench-ready"), content))).ToList(), timeout);
}

/// <summary>wsync: a workspace in the bench's daemon with ssh remotes, attached through the daemon's API.</summary>
internal sealed class WsyncMirror : IMirror
{
    private readonly BenchHost host;

    private readonly RemoteTransport transport;

    private readonly RemoteAccount account;

    private WsyncMirror(BenchHost host, string name, string workspace, IReadOnlyList<string> remotes, RemoteTransport transport, RemoteAccount account)
    {
        this.host = host;
        this.transport = transport;
        this.account = account;
        Name = name;
        Workspace = workspace;
        Remotes = remotes;
    }

    public string Name { get; }

    public string Workspace { get; }

    public IReadOnlyList<string> Remotes { get; }

    /// <summary>
    /// Adds <paramref name="workspace"/> (or a fresh one) and connects <paramref name="remotes"/> ssh remotes,
    /// logging in as <paramref name="account"/> (the bench's plain account by default), waiting for their
    /// initial sync and for the transport asked for.
    /// </summary>
    public static async Task<WsyncMirror> StartAsync(BenchHost host, string name, int remotes = 1, string? workspace = null, int? port = null,
        RemoteTransport transport = RemoteTransport.Agent, RemoteAccount? account = null, bool onDisk = false)
    {
        workspace ??= host.LocalDirectory(name, onDisk);
        account ??= host.Account;
        await host.Wsync.Call(host.Wsync.Daemon.AddWorkspaceAsync(new AddWorkspaceRequest { Path = workspace, Name = name }, CancellationToken.None));
        var directories = Enumerable.Range(1, remotes).Select(i => host.RemoteDirectory($"{name}-r{i}", account, onDisk)).ToList();
        var mirror = new WsyncMirror(host, name, workspace, directories, transport, account);
        foreach (var remote in mirror.Remotes)
        {
            await mirror.ConnectAsync(remote, port);
        }

        await mirror.WaitForTransportAsync();
        return mirror;
    }

    /// <summary>A workspace the scenario added and connected itself (to time the steps): one remote, over the agent.</summary>
    public static async Task<WsyncMirror> AttachedAsync(BenchHost host, string name, string workspace, string remote)
    {
        var mirror = new WsyncMirror(host, name, workspace, [remote], RemoteTransport.Agent, host.Account);
        await mirror.WaitForTransportAsync();
        return mirror;
    }

    /// <summary>
    /// Waits until every remote runs over the transport asked for (the agent starts once the initial sync is
    /// done): a figure labelled "agent" that rsync made instead would be a lie, so that fails the scenario.
    /// </summary>
    private async Task WaitForTransportAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var remotes = (await StatusAsync()).Remotes;
            if (remotes.All(r => r.Transport == transport))
            {
                return;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                var other = remotes.First(r => r.Transport != transport);
                throw new InvalidOperationException($"{Name}: remote {other.Name} runs over {other.Transport}, not {transport}: {other.TransportReason}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Connect-WsyncRemote with -Wait: returns when the remote is InSync.</summary>
    public Task<Remote> ConnectAsync(string remote, int? port = null) =>
        host.Wsync.Call(host.Wsync.Daemon.ConnectRemoteAsync(new ConnectRemoteRequest
        {
            Workspace = Name,
            Destination = $"{account.Name}@{host.Ssh.Host}:{remote}",
            Name = Path.GetFileName(remote),
            Port = port ?? host.Ssh.Port,
            IdentityFile = host.Ssh.IdentityFile,
            SshOptions = host.Ssh.SshOptions,
            WaitForInitialSync = true,
            Transport = transport,
        }, null, CancellationToken.None));

    public async Task<Workspace> StatusAsync() =>
        (await host.Wsync.Call(host.Wsync.Daemon.GetWorkspacesAsync(CancellationToken.None))).Single(w => w.Name == Name);

    public async ValueTask DisposeAsync() =>
        await host.Wsync.Call(host.Wsync.Daemon.RemoveWorkspaceAsync(Name, CancellationToken.None));
}

/// <summary>
/// wsync as the per-edit scenarios measure it: over its agent and with -Transport Rsync, for the plain account
/// and (as root) the bash one, each live (an edit seen landing) before the first measurement.
/// </summary>
internal sealed class WsyncVariants : IAsyncDisposable
{
    private readonly List<(string Name, WsyncMirror Mirror)> all = [];

    /// <summary>Every variant started, named as the report names it.</summary>
    public IReadOnlyList<(string Name, WsyncMirror Mirror)> All => all;

    /// <summary>Starts the variants as workspaces named <paramref name="prefix"/>-wsync…, their remotes watched by <paramref name="probe"/>.</summary>
    public static async Task<WsyncVariants> StartAsync(BenchHost host, string prefix, LandingProbe probe)
    {
        var variants = new WsyncVariants();
        try
        {
            variants.all.Add((Contender.Wsync, await WsyncMirror.StartAsync(host, $"{prefix}-wsync")));
            variants.all.Add((Contender.WsyncRsync, await WsyncMirror.StartAsync(host, $"{prefix}-wsync-rsync", transport: RemoteTransport.Rsync)));
            if (host.BashAccount is { } bash)
            {
                variants.all.Add((Contender.WsyncBash, await WsyncMirror.StartAsync(host, $"{prefix}-wsync-bash", account: bash)));
                variants.all.Add((Contender.WsyncRsyncBash, await WsyncMirror.StartAsync(host, $"{prefix}-wsync-rsync-bash", transport: RemoteTransport.Rsync, account: bash)));
            }

            foreach (var (_, mirror) in variants.all)
            {
                probe.Watch(mirror.Remotes[0]);
                await Contender.WaitLiveAsync(mirror, probe, TimeSpan.FromSeconds(30));
            }

            return variants;
        }
        catch
        {
            await variants.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, mirror) in all)
        {
            await mirror.DisposeAsync();
        }
    }
}

/// <summary>
/// lsyncd 2.2 with default.rsyncssh, the usual way to mirror over ssh: with its defaults (delay 15 s, a
/// new ssh per command) or tuned (delay 0, every command through an ssh ControlMaster).
/// </summary>
internal sealed class LsyncdMirror : IMirror
{
    private readonly Process process;
    private readonly Process? master;

    private LsyncdMirror(string name, string workspace, IReadOnlyList<string> remotes, Process process, Process? master)
    {
        Name = name;
        Workspace = workspace;
        Remotes = remotes;
        this.process = process;
        this.master = master;
    }

    public string Name { get; }

    public string Workspace { get; }

    public IReadOnlyList<string> Remotes { get; }

    public int ProcessId => process.Id;

    public static bool IsInstalled => File.Exists("/usr/bin/lsyncd");

    public static async Task<LsyncdMirror> StartAsync(BenchHost host, string name, bool tuned, LandingProbe probe, int remotes = 1, string? workspace = null, int? port = null)
    {
        workspace ??= host.LocalDirectory(name);
        var targets = Enumerable.Range(1, remotes).Select(i => host.RemoteDirectory($"{name}-r{i}")).ToList();
        var (controlPath, master) = tuned ? host.StartMaster(port) : default;
        var config = new StringBuilder();
        var state = host.LocalDirectory(name + "-lsyncd");
        config.AppendLine(CultureInfo.InvariantCulture, $"settings {{ nodaemon = true, insist = true, logfile = {Lua(Path.Combine(state, "lsyncd.log"))}, statusFile = {Lua(Path.Combine(state, "lsyncd.status"))} }}");
        foreach (var target in targets)
        {
            var options = new StringBuilder($"UserKnownHostsFile = {Lua(host.Ssh.KnownHostsFile)}, BatchMode = \"yes\"");
            if (controlPath is not null)
            {
                options.Append(CultureInfo.InvariantCulture, $", ControlMaster = \"no\", ControlPath = {Lua(controlPath)}");
            }

            config.AppendLine(CultureInfo.InvariantCulture, $$"""
                sync {
                    default.rsyncssh,
                    source = {{Lua(workspace)}},
                    host = {{Lua($"{host.Account.Name}@{host.Ssh.Host}")}},
                    targetdir = {{Lua(target)}},
                    {{(tuned ? "delay = 0," : "")}}
                    ssh = { port = {{port ?? host.Ssh.Port}}, identityFile = {{Lua(host.Ssh.IdentityFile)}}, options = { {{options}} } },
                }
                """);
        }

        var file = Path.Combine(state, "lsyncd.conf.lua");
        await File.WriteAllTextAsync(file, config.ToString());
        // Written before lsyncd starts, the marker goes with its start-up sync (which sets up the watches
        // first), not after its delay: a default lsyncd is live in seconds rather than 15 s.
        var ready = await Contender.WriteReadyAsync(workspace);
        var process = host.Start("lsyncd", [file]);
        var mirror = new LsyncdMirror(tuned ? Contender.LsyncdTuned : Contender.LsyncdDefault, workspace, targets, process, master);
        foreach (var target in targets)
        {
            probe.Watch(target);
        }

        await Contender.WaitReadyAsync(mirror, probe, ready, TimeSpan.FromMinutes(2));
        return mirror;
    }

    public ValueTask DisposeAsync()
    {
        BenchHost.Stop(process);
        if (master is not null)
        {
            BenchHost.Stop(master);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>A Lua string literal.</summary>
    private static string Lua(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
