using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Wsync;

/// <summary>
/// The daemon's and the monitors' logs: compact JSON lines (one event per line, so they read back as objects),
/// rolled daily, private to the user. One source file compiled into both executables (a shared assembly
/// would put Serilog into the module's protocol assembly).
/// </summary>
internal static class Logging
{
    /// <summary>Environment variable that lowers the level, e.g. WSYNC_LOG_LEVEL=Debug.</summary>
    public const string LevelVariable = "WSYNC_LOG_LEVEL";

    /// <summary>A logger writing <c>&lt;stem&gt;-&lt;date&gt;.clef</c> in <paramref name="directory"/>, every event tagged with the process.</summary>
    public static ILogger Create(string directory, string stem, string process, bool console, string? workspace = null)
    {
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var level = Enum.TryParse<LogEventLevel>(Environment.GetEnvironmentVariable(LevelVariable), ignoreCase: true, out var parsed)
            ? parsed
            : LogEventLevel.Information;
        // Unbuffered (each event reaches the OS as it is written) and no flushToDiskInterval: that is a timer
        // waking the process every second, and an idle daemon should not wake at all.
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .Enrich.WithProperty("Process", process)
            .Enrich.WithProperty("Pid", Environment.ProcessId)
            .WriteTo.File(new CompactJsonFormatter(), Path.Combine(directory, stem + "-.clef"),
                rollingInterval: RollingInterval.Day, retainedFileCountLimit: 7, fileSizeLimitBytes: 16 * 1024 * 1024,
                rollOnFileSizeLimit: true, shared: false, hooks: new PrivateFileHooks());
        if (workspace is not null)
        {
            configuration = configuration.Enrich.WithProperty("Workspace", workspace);
        }

        if (console)
        {
            configuration = configuration.WriteTo.Sink(new StandardErrorSink());
        }

        return configuration.CreateLogger();
    }

    /// <summary>Log files are private: they name paths and hosts.</summary>
    private sealed class PrivateFileHooks : Serilog.Sinks.File.FileLifecycleHooks
    {
        public override Stream OnFileOpened(string path, Stream underlyingStream, System.Text.Encoding encoding)
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return underlyingStream;
        }
    }

    /// <summary>A plain one-line-per-event sink for running wsyncd in the foreground.</summary>
    private sealed class StandardErrorSink : Serilog.Core.ILogEventSink
    {
        public void Emit(LogEvent logEvent) =>
            Console.Error.WriteLine($"{logEvent.Timestamp:HH:mm:ss.fff} {logEvent.Level,-11} {logEvent.RenderMessage()}{(logEvent.Exception is null ? "" : " " + logEvent.Exception.Message)}");
    }
}
