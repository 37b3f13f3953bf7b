using System.Globalization;

namespace Wsync.Daemon;

/// <summary>
/// Test-only hooks, read once from the environment when the daemon starts; with none of these
/// variables set (as in every real use) they do nothing. They let tests drive the watchdog and the
/// heartbeat with real faults instead of mocks.
/// </summary>
internal sealed class FaultInjection
{
    /// <summary><c>throw-in-state:NAME</c> makes adding workspace NAME throw while holding the state lock; <c>hold-state-lock:NAME</c> makes it hold the lock forever.</summary>
    public const string FaultVariable = "WSYNC_FAULT_INJECTION";

    /// <summary>Milliseconds the state lock may be held before the watchdog calls it a deadlock.</summary>
    public const string StateLockDeadlineVariable = "WSYNC_STATE_LOCK_DEADLINE_MS";

    /// <summary>Milliseconds a monitor has to answer a heartbeat.</summary>
    public const string HeartbeatTimeoutVariable = "WSYNC_HEARTBEAT_TIMEOUT_MS";

    /// <summary>The faults <see cref="FaultVariable"/> can name, by prefix.</summary>
    private static readonly Dictionary<string, Action<FaultInjection, string>> Kinds = new(StringComparer.Ordinal)
    {
        ["throw-in-state:"] = (faults, name) => faults.throwOnAdd = name,
        ["hold-state-lock:"] = (faults, name) => faults.holdOnAdd = name,
    };

    /// <summary>The workspace whose Add throws inside the lock; null when the fault is off. Set only while reading the environment.</summary>
    private string? throwOnAdd;

    /// <summary>The workspace whose Add never releases the lock; null when the fault is off. Set only while reading the environment.</summary>
    private string? holdOnAdd;

    /// <summary>No fault, no override: what every real daemon runs with.</summary>
    public static FaultInjection None { get; } = new();

    public TimeSpan? StateLockDeadline { get; private init; }

    public TimeSpan? HeartbeatTimeout { get; private init; }

    /// <summary>The hooks and overrides the environment asks for; an unreadable value is ignored.</summary>
    public static FaultInjection FromEnvironment()
    {
        var faults = new FaultInjection
        {
            StateLockDeadline = Milliseconds(StateLockDeadlineVariable),
            HeartbeatTimeout = Milliseconds(HeartbeatTimeoutVariable),
        };
        var value = Environment.GetEnvironmentVariable(FaultVariable) ?? "";
        foreach (var (prefix, apply) in Kinds)
        {
            if (value.StartsWith(prefix, StringComparison.Ordinal))
            {
                apply(faults, value[prefix.Length..]);
            }
        }

        return faults;
    }

    /// <summary>Called inside the state lock while adding <paramref name="name"/>, before anything is written.</summary>
    public void OnAddWorkspace(string name)
    {
        if (name.Equals(throwOnAdd, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"fault injected ({FaultVariable}): adding '{name}' throws inside the state lock");
        }

        if (name.Equals(holdOnAdd, StringComparison.OrdinalIgnoreCase))
        {
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static TimeSpan? Milliseconds(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? TimeSpan.FromMilliseconds(value)
            : null;
}
