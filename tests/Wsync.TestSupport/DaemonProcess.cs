using System.Diagnostics;
using System.Net.Sockets;

namespace Wsync.TestSupport;

/// <summary>
/// A real wsyncd started in the foreground with its own home. Disposing stops it and every monitor it
/// started, by pid, and checks they are gone.
/// </summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process process;
    private readonly List<string> output = [];

    /// <summary>Monitors of a daemon killed with <see cref="KillHard"/>, checked (and killed if need be) on dispose.</summary>
    private readonly List<int> orphans = [];

    private DaemonProcess(string home, Process process)
    {
        Home = home;
        this.process = process;
    }

    public string Home { get; }

    public int ProcessId => process.Id;

    public string SocketPath => Path.Combine(Home, "wsyncd.sock");

    public string WorkspaceFile => Path.Combine(Home, "wsync-ws-config.json");

    public bool HasExited => process.HasExited;

    /// <summary>What the daemon wrote to stderr so far (its foreground log).</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return string.Join('\n', output);
            }
        }
    }

    /// <summary>Starts wsyncd for <paramref name="home"/> and waits until its socket accepts connections.</summary>
    public static DaemonProcess Start(string home, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(RepositoryPaths.Daemon)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--home");
        start.ArgumentList.Add(home);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start wsyncd");
        var daemon = new DaemonProcess(home, process);
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                lock (daemon.output)
                {
                    daemon.output.Add(line.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            Poll.Until(() => process.HasExited || daemon.Accepts(), TimeSpan.FromSeconds(30), "the daemon to listen");
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new InvalidOperationException($"wsyncd exited with {process.ExitCode}: {daemon.Output}");
            }
        }
        catch
        {
            daemon.Dispose();
            throw;
        }

        return daemon;
    }

    /// <summary>Runs wsyncd to completion (for start-up failures) and returns its exit code and stderr.</summary>
    public static (int ExitCode, string Error) RunToExit(string home, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(RepositoryPaths.Daemon)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--home");
        start.ArgumentList.Add(home);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"wsyncd did not exit within {timeout}");
        }

        return (process.ExitCode, error.Result);
    }

    /// <summary>The monitors (children named wsync-monitor) now running.</summary>
    public IReadOnlyList<int> MonitorProcessIds() =>
        [.. Processes.Children(process.Id).Where(pid => Processes.Name(pid) is { } name && name.StartsWith("wsync-monitor", StringComparison.Ordinal))];

    /// <summary>Waits (with a deadline) for the daemon to end by itself; returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            throw new TimeoutException($"wsyncd {process.Id} did not exit within {timeout.TotalSeconds:0.#} s");
        }

        process.WaitForExit(); // drains the redirected streams
        return process.ExitCode;
    }

    /// <summary>Monitors that will outlive the daemon (it is about to die): checked, and killed if need be, on dispose.</summary>
    public void ExpectOrphans(IEnumerable<int> monitors) => orphans.AddRange(monitors);

    /// <summary>SIGKILL: no chance to clean up. Returns the monitors it had, which must notice the closed channel and exit by themselves.</summary>
    public IReadOnlyList<int> KillHard()
    {
        var monitors = MonitorProcessIds();
        orphans.AddRange(monitors);
        process.Kill();
        process.WaitForExit();
        return monitors;
    }

    public bool Accepts()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM (graceful: monitors are stopped), then SIGKILL past a deadline; monitors killed by pid if any remain.</summary>
    public void Dispose()
    {
        var monitors = process.HasExited ? [.. orphans] : MonitorProcessIds();
        if (!process.HasExited)
        {
            Syscall.Terminate(process.Id);
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }

        foreach (var monitor in monitors)
        {
            try
            {
                Poll.Until(() => !Processes.IsAlive(monitor), TimeSpan.FromSeconds(10), $"monitor {monitor} to exit");
            }
            catch (TimeoutException)
            {
                Processes.Kill(monitor);
            }
        }

        process.Dispose();
    }
}

/// <summary>Signals by pid.</summary>
public static partial class Syscall
{
    private const int SigTerm = 15;
    private const int SigStop = 19;
    private const int SigCont = 18;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    public static void Terminate(int pid) => Kill(pid, SigTerm);

    /// <summary>SIGSTOP: the process freezes, answering nothing, until killed (or SIGCONT).</summary>
    public static void Stop(int pid) => Kill(pid, SigStop);

    /// <summary>SIGCONT: a stopped process runs again.</summary>
    public static void Continue(int pid) => Kill(pid, SigCont);
}
