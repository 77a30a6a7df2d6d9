using System.Globalization;
using System.Text.RegularExpressions;

namespace Loom.LoadTests.Monitoring;

/// <summary>
/// Every sample of the target's /metrics at one moment (summed over its processes), so a scenario can take the
/// difference of two snapshots around a phase: counters become counts for the phase, histograms become the phase's
/// own distribution (the same arithmetic as PromQL's increase and histogram_quantile).
/// </summary>
public sealed partial class MetricsSnapshot
{
    private readonly List<(string Name, string Labels, double Value)> _samples;

    private MetricsSnapshot(List<(string, string, double)> samples) => _samples = samples;

    public static async Task<MetricsSnapshot> TakeAsync(TargetMetrics metrics, CancellationToken ct) =>
        Parse(await metrics.ReadTextsAsync(ct));

    public static MetricsSnapshot Parse(IEnumerable<string> texts)
    {
        var samples = new List<(string, string, double)>();
        foreach (var text in texts)
        {
            foreach (Match m in Sample().Matches(text))
            {
                if (double.TryParse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                    samples.Add((m.Groups["name"].Value, m.Groups["labels"].Value, v));
            }
        }
        return new MetricsSnapshot(samples);
    }

    /// <summary>Sum of the samples of <paramref name="name"/> whose labels contain every one of <paramref name="labels"/> (e.g. <c>stage="commit"</c>).</summary>
    public double Sum(string name, params string[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.Contains(l, StringComparison.Ordinal))).Sum(s => s.Value);

    public bool Has(string name) => _samples.Any(s => s.Name == name);

    /// <summary>How much a counter grew from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static double Delta(MetricsSnapshot before, MetricsSnapshot after, string name, params string[] labels) =>
        after.Sum(name, labels) - before.Sum(name, labels);

    /// <summary>Mean of a histogram over the window (sum ÷ count of the increase); NaN when nothing was recorded.</summary>
    public static double Mean(MetricsSnapshot before, MetricsSnapshot after, string histogram, params string[] labels)
    {
        var count = Delta(before, after, histogram + "_count", labels);
        return count > 0 ? Delta(before, after, histogram + "_sum", labels) / count : double.NaN;
    }

    /// <summary>Quantile <paramref name="q"/> of a histogram over the window, interpolated within buckets as histogram_quantile does.</summary>
    public static double Quantile(MetricsSnapshot before, MetricsSnapshot after, string histogram, double q, params string[] labels)
    {
        var name = histogram + "_bucket";
        var buckets = after._samples
            .Where(s => s.Name == name && labels.All(l => s.Labels.Contains(l, StringComparison.Ordinal)))
            .Select(s => Le().Match(s.Labels).Groups[1].Value)
            .Distinct()
            .Select(le => (Le: le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture),
                Count: Delta(before, after, name, [.. labels, $"le=\"{le}\""])))
            .OrderBy(b => b.Le)
            .ToList();
        if (buckets.Count == 0 || buckets[^1].Count <= 0) return double.NaN;
        var rank = q * buckets[^1].Count;
        var lower = 0.0;
        var below = 0.0;
        foreach (var (le, count) in buckets)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(le)) return lower;
                return count == below ? le : lower + (le - lower) * (rank - below) / (count - below);
            }
            lower = le;
            below = count;
        }
        return lower;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [GeneratedRegex("le=\"([^\"]+)\"")]
    private static partial Regex Le();
}
