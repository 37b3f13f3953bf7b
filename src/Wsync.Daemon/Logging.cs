using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Wsync.Daemon;

/// <summary>The daemon's log: compact JSON lines (one event per line, so Get-WsyncLog can read them as objects), rolled daily.</summary>
internal static class Logging
{
    /// <summary>Environment variable that lowers the level, e.g. WSYNC_LOG_LEVEL=Debug.</summary>
    public const string LevelVariable = "WSYNC_LOG_LEVEL";

    public static ILogger Create(string directory, string stem, bool console)
    {
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var level = Enum.TryParse<LogEventLevel>(Environment.GetEnvironmentVariable(LevelVariable), ignoreCase: true, out var parsed)
            ? parsed
            : LogEventLevel.Information;
        // Unbuffered (each event reaches the OS as it is written) and no flushToDiskInterval: that is a timer
        // waking the process every second, and an idle daemon should not wake at all.
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .Enrich.WithProperty("Process", stem)
            .Enrich.WithProperty("Pid", Environment.ProcessId)
            .WriteTo.File(new CompactJsonFormatter(), Path.Combine(directory, stem + "-.clef"),
                rollingInterval: RollingInterval.Day, retainedFileCountLimit: 7, fileSizeLimitBytes: 16 * 1024 * 1024,
                rollOnFileSizeLimit: true, shared: false, hooks: new PrivateFileHooks());
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
