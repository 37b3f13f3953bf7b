using System.Diagnostics;
using Wsync.Monitor.Sync;
using Wsync.TestSupport;
using Wsync.Transfer;

namespace Wsync.Tests.Transfer;

/// <summary>
/// A real wsync-agent (the one build.ps1 put in the module), spoken to over its stdin and stdout as a monitor
/// does, or with frames crafted by hand. <paramref name="shellPrefix"/> runs it from sh after that command (a
/// login script that prints, say). Killed by pid on dispose if it is still running.
/// </summary>
internal sealed class AgentProcess : IDisposable
{
    private readonly Process process;

    public AgentProcess(string? shellPrefix = null)
    {
        var start = new ProcessStartInfo(shellPrefix is null ? RepositoryPaths.Agent : "/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (shellPrefix is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"{shellPrefix}; exec \"$0\"");
            start.ArgumentList.Add(RepositoryPaths.Agent);
        }

        process = Process.Start(start)!;
        Errors = process.StandardError.ReadToEndAsync();
    }

    public int Pid => process.Id;

    /// <summary>The agent's stdin.</summary>
    public Stream Input => process.StandardInput.BaseStream;

    /// <summary>The agent's stdout.</summary>
    public Stream Output => process.StandardOutput.BaseStream;

    /// <summary>Everything the agent writes to stderr, once it ended.</summary>
    public Task<string> Errors { get; }

    /// <summary>Reads the agent's magic, then frames, as the monitor does.</summary>
    public FrameReader Reader => reader ??= new FrameReader(Output, AgentProtocol.MaxFrame);

    private FrameReader? reader;

    /// <summary>Sends the monitor's magic and Hello for <paramref name="root"/>, and expects Welcome.</summary>
    public async Task HandshakeAsync(string root)
    {
        await SendAsync(new FrameWriter().Raw(AgentProtocol.MonitorMagic.Span).Begin(FrameKind.Hello).U16(AgentProtocol.Version).Path(root).End());
        var noise = new List<byte>();
        Assert.True(await Reader.SkipToMagicAsync(AgentProtocol.AgentMagic, 0, noise, CancellationToken.None), "the agent's magic");
        Assert.Empty(noise);
        var welcome = await Reader.ReadAsync(CancellationToken.None);
        Assert.Equal(FrameKind.Welcome, welcome?.Kind);
    }

    public async Task SendAsync(FrameWriter frames)
    {
        await Input.WriteAsync(frames.Written);
        await Input.FlushAsync();
    }

    /// <summary>Waits for the agent to exit and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            Processes.Kill(process.Id);
        }

        process.WaitForExit();
        process.Dispose();
    }
}

/// <summary>A real agent with the monitor's channel open to it; disposing closes the channel and checks the agent ended cleanly.</summary>
internal sealed record OpenAgent(AgentProcess Process, AgentChannel Channel) : IAsyncDisposable
{
    /// <summary>Starts an agent and opens the monitor's channel to it for <paramref name="root"/>; drift reports go to <paramref name="drifted"/>.</summary>
    public static async Task<OpenAgent> OpenAsync(string root, Action<DriftEntry>? drifted = null)
    {
        var process = new AgentProcess();
        var channel = await AgentChannel.OpenAsync(process.Input, process.Output, root, () =>
        {
            process.Input.Close();
            return ValueTask.CompletedTask;
        }, drifted ?? (_ => { }), CancellationToken.None);
        return new OpenAgent(process, channel);
    }

    public async ValueTask DisposeAsync()
    {
        await Channel.DisposeAsync();
        Assert.Equal((int)AgentExit.Closed, await Process.ExitCodeAsync());
        Process.Dispose();
    }
}
