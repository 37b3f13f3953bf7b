namespace Wsync.Bench;

/// <summary>Repeated measurements of one figure for one contender, with the summaries the report uses.</summary>
internal sealed class Measurements(IEnumerable<double> values)
{
    public IReadOnlyList<double> Values { get; } = values.Order().ToArray();

    public int Count => Values.Count;

    public double Median => Percentile(50);

    public double P95 => Percentile(95);

    /// <summary>Nearest-rank percentile; NaN when there is no sample.</summary>
    public double Percentile(double percent)
    {
        if (Values.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percent / 100 * Values.Count);
        return Values[Math.Clamp(rank - 1, 0, Values.Count - 1)];
    }
}

/// <summary>One row of the report: a figure of a scenario, measured for several contenders.</summary>
/// <param name="Reference">The contender the ratios are taken against (the physical reference, one-shot rsync, where it applies).</param>
internal sealed record Figure(string Scenario, string Name, string Unit, IReadOnlyDictionary<string, Measurements> Contenders, string? Reference);

/// <summary>A goal from the issue, checked against the figures.</summary>
internal sealed record Goal(string Scenario, string Text, double Actual, double Limit, string Unit)
{
    public bool Met => !double.IsNaN(Actual) && Actual <= Limit;
}

/// <summary>What a scenario produced.</summary>
internal sealed record ScenarioResult(string Name, IReadOnlyList<Figure> Figures, IReadOnlyList<Goal> Goals, IReadOnlyList<string> Notes);
