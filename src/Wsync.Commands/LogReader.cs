using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Wsync.Commands;

/// <summary>
/// Reads the daemon's and the monitors' CLEF logs (one compact JSON event per line, written by
/// <c>src/Logging.cs</c>) back as <see cref="LogEntry"/> objects. Files are opened for reading while their
/// writer keeps appending (FileShare.ReadWrite); nothing here needs or starts the daemon.
/// </summary>
internal static class LogReader
{
    /// <summary>The log files of every wsync process: <c>wsyncd-&lt;date&gt;.clef</c> and <c>monitor-&lt;workspace&gt;-&lt;date&gt;.clef</c> (with <c>_NNN</c> after a size roll).</summary>
    private static readonly string[] FilePatterns = ["wsyncd-*.clef", "monitor-*.clef"];

    /// <summary>CLEF's reserved properties: the rest are the event's own.</summary>
    private const string TimeProperty = "@t", TemplateProperty = "@mt", RenderedProperty = "@m", LevelProperty = "@l", ExceptionProperty = "@x";

    /// <summary>
    /// Every entry of every log file in <paramref name="directory"/>, oldest first (a stable sort, so
    /// entries of one process with the same time keep their order). A line that is not a CLEF event is
    /// skipped and reported through <paramref name="skipped"/>.
    /// </summary>
    public static List<LogEntry> ReadAll(string directory, Action<string> skipped)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var files = FilePatterns.SelectMany(pattern => Directory.EnumerateFiles(directory, pattern)).Order(StringComparer.Ordinal);
        var entries = new List<LogEntry>();
        foreach (var file in files)
        {
            ReadFile(file, entries, skipped);
        }

        return [.. entries.OrderBy(entry => entry.Time)];
    }

    private static void ReadFile(string file, List<LogEntry> entries, Action<string> skipped)
    {
        FileStream stream;
        try
        {
            // ReadWrite and Delete: the writer appends, and rolls or deletes old files, while we read.
            stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return; // deleted by the writer's retention since it was listed
        }

        using (stream)
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            var number = 0;
            while (reader.ReadLine() is { } line)
            {
                number++;
                if (line.Length == 0)
                {
                    continue;
                }

                var entry = Parse(line, file);
                if (entry is null)
                {
                    skipped($"Skipped line {number} of {file}: it is not a log event.");
                    continue;
                }

                entries.Add(entry);
            }
        }
    }

    /// <summary>One CLEF line as an entry; null when it is not one (not JSON, no time).</summary>
    internal static LogEntry? Parse(string line, string file)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty(TimeProperty, out var time)
                || time.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParse(time.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var when))
            {
                return null;
            }

            var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!property.Name.StartsWith('@'))
                {
                    properties[property.Name] = ToValue(property.Value);
                }
            }

            var message = root.TryGetProperty(TemplateProperty, out var template) && template.ValueKind == JsonValueKind.String
                ? Render(template.GetString() ?? "", properties)
                : root.TryGetProperty(RenderedProperty, out var rendered) ? rendered.GetString() ?? "" : "";
            return new LogEntry
            {
                Time = when,
                // CLEF leaves @l out for Information, the most common level.
                Level = root.TryGetProperty(LevelProperty, out var level) && Enum.TryParse<LogLevel>(level.GetString(), ignoreCase: true, out var parsed)
                    ? parsed
                    : LogLevel.Information,
                Process = properties.GetValueOrDefault("Process") as string ?? ProcessOf(file),
                Pid = properties.GetValueOrDefault("Pid") is long pid ? (int)pid : null,
                Workspace = properties.GetValueOrDefault("Workspace") as string,
                Message = message,
                Exception = root.TryGetProperty(ExceptionProperty, out var exception) ? exception.GetString() : null,
                Properties = properties,
                LogFile = file,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Renders a message template: <c>{Name}</c>, with an optional <c>@</c>/<c>$</c> prefix, <c>,alignment</c>
    /// and <c>:format</c>, becomes the property's value; <c>{{</c> and <c>}}</c> are literal braces. Strings are
    /// written without the quotes Serilog's own rendering adds: the entry is read by a person.
    /// </summary>
    internal static string Render(string template, IReadOnlyDictionary<string, object?> properties)
    {
        var text = new StringBuilder(template.Length + 32);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                text.Append(c);
                i++;
                continue;
            }

            var close = c == '{' ? template.IndexOf('}', i + 1) : -1;
            if (close < 0)
            {
                text.Append(c);
                continue;
            }

            var hole = template[(i + 1)..close];
            var name = hole.TrimStart('@', '$').Split(',', ':')[0];
            text.Append(properties.TryGetValue(name, out var value) ? Format(value) : template[i..(close + 1)]);
            i = close;
        }

        return text.ToString();
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A property's value as PowerShell shows it best: strings, whole numbers as long, other numbers as double, booleans; arrays and objects as their JSON.</summary>
    private static object? ToValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.TryGetInt64(out var whole) ? (object)whole : value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => value.GetRawText(),
    };

    /// <summary>The process of an entry without a Process property, from its file's name.</summary>
    private static string ProcessOf(string file) =>
        Path.GetFileName(file).StartsWith("monitor-", StringComparison.Ordinal) ? "wsync-monitor" : "wsyncd";
}
