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
        string Mean(MetricsSnapshot a, MetricsSnapshot b, string stage) => Cells.Ms(MetricsSnapshot.Mean(a, b, Histogram, Label(stage)) * 1000);
        var rows = Stages.Select(stage => (IReadOnlyList<string>)
        [
            stage, Mean(lightBefore, lightAfter, stage), Mean(loadBefore, loadAfter, stage),
            Cells.Ms(MetricsSnapshot.Quantile(loadBefore, loadAfter, Histogram, 0.95, Label(stage)) * 1000),
        ]).ToList();
        // The database's share of accept and commit: each storage transaction as the silos saw it (summed over processes).
        if (loadAfter.Has(Transaction + "_count"))
        {
            rows.Add(
            [
                "storage transaction", Cells.Ms(MetricsSnapshot.Mean(lightBefore, lightAfter, Transaction) * 1000),
                Cells.Ms(MetricsSnapshot.Mean(loadBefore, loadAfter, Transaction) * 1000),
                Cells.Ms(MetricsSnapshot.Quantile(loadBefore, loadAfter, Transaction, 0.95) * 1000),
            ]);
        }
        return new ReportTable($"Turn budget by stage (the engine's {Histogram})",
            ["stage", $"mean, {light}", $"mean, {load}", $"p95, {load} (bucket bounds)"], rows);
    }

    private static string Label(string stage) => $"stage=\"{stage}\"";
}
