using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The budget of one turn by stage, from the target's own <c>loom_turn_stage_duration_seconds</c> histograms read
/// before and after two phases (a light one and a loaded one): where a turn's time goes, and which stages grow under load.
/// </summary>
public static class StageBudget
{
    private const string Histogram = "loom_turn_stage_duration_seconds";
    private const string Transaction = "loom_storage_transaction_duration_seconds";

    /// <summary>The stages of a turn in order, as the engine measures them (llm_total includes llm_first_token).</summary>
    private static readonly string[] Stages =
        ["accept", "queue_wait", "memory_recall", "prompt_assembly", "llm_first_token", "llm_total", "memory_apply", "commit"];

    /// <summary>Null when the target exports no stage histograms (e.g. a foreign target).</summary>
    public static ReportTable? Table(MetricsSnapshot lightBefore, MetricsSnapshot lightAfter, MetricsSnapshot loadBefore, MetricsSnapshot loadAfter,
        string load, string light = "1 session")
    {
        if (!loadAfter.Has(Histogram + "_count")) return null;
        // One row: mean in each phase and the loaded phase's p95, of one histogram's series.
        IReadOnlyList<string> Row(string name, string histogram, params string[] labels) =>
        [
            name, Cells.Ms(MetricsSnapshot.Mean(lightBefore, lightAfter, histogram, labels) * 1000),
            Cells.Ms(MetricsSnapshot.Mean(loadBefore, loadAfter, histogram, labels) * 1000),
            Cells.Ms(MetricsSnapshot.Quantile(loadBefore, loadAfter, histogram, 0.95, labels) * 1000),
        ];
        var rows = Stages.Select(stage => Row(stage, Histogram, Label(stage))).ToList();
        // The database's share of accept and commit: each storage transaction as the silos saw it (summed over processes).
        if (loadAfter.Has(Transaction + "_count")) rows.Add(Row("storage transaction", Transaction));
        return new ReportTable($"Turn budget by stage (the engine's {Histogram})",
            ["stage", $"mean, {light}", $"mean, {load}", $"p95, {load} (bucket bounds)"], rows);
    }

    private static string Label(string stage) => $"stage=\"{stage}\"";
}
