using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;

namespace Loom.LoadTests.Scenarios.Roll;

/// <summary>The roll's tables and checks: turn latency by window, retries, and the exactly-once verdict.</summary>
public static class RollReport
{
    public static void Add(ScenarioReport report, ScenarioRun run, IReadOnlyList<RollingPlayer> players, RollLog log, IReadOnlyList<string> problems,
        (DateTime From, DateTime To) before, (DateTime From, DateTime To) during, double ratioTarget)
    {
        var turns = players.SelectMany(p => p.Turns).ToList();
        var (b, d) = (Latencies(turns, [before]), Latencies(turns, [during]));
        var rows = new List<IReadOnlyList<string>> { Row("before the roll", b), Row("during the roll", d) };
        foreach (var kind in log.Windows.Select(w => w.Kind).Distinct())
            rows.Add(Row($"  while {kind}", Latencies(turns, log.Windows.Where(w => w.Kind == kind).Select(w => (w.From, w.To)).ToList())));
        report.Tables.Add(new ReportTable(
            $"Rolling upgrade under {players.Count} sessions (LLM latency {Durations.Format(run.LlmLatency)}, think time 1 s; turn time = first send to completed answer, retries included)",
            ["turns submitted", "turns", "p50", "p95", "p99", "max"], rows));

        var retried = players.SelectMany(p => p.Retried).GroupBy(r => r.Key).Select(g => $"{g.Key} {g.Sum(r => r.Value)}").DefaultIfEmpty("none");
        var failed = turns.Where(t => t.Failure is not null).ToList();
        var violations = players.SelectMany(p => p.Violations).ToList();
        report.Tables.Add(new ReportTable("The roll, step by step", ["step"], log.Steps.Select(s => (IReadOnlyList<string>)[s]).ToList()));
        report.Notes.Add($"Roll: {(during.To - during.From).TotalSeconds:F0} s; {turns.Count:N0} turns sent, {turns.Count(t => t.CompletedAt is not null):N0} completed; " +
                         $"retried with the same Idempotency-Key: {string.Join(", ", retried)}.");
        foreach (var line in failed.Take(5).Select(t => $"turn not completed: {t.Input}: {t.Failure}")
                     .Concat(violations.Take(5)).Concat(problems.Take(10)))
            report.Notes.Add(line);

        var strict = run.Options.Strict;
        var ratio = b.Count > 0 && d.Count > 0 ? P(d, 0.95) / P(b, 0.95) : double.NaN;
        report.Checks.Add(CheckResult.AtMost("turn p95 during the roll ÷ before", ratio, ratioTarget, v => $"{v:0.00}×", strict, 1.0, "×"));
        report.Checks.Add(CheckResult.AtMost("turns not completed (every turn retried until answered)", failed.Count, 0, v => Cells.Count((long)v), strict, 0));
        report.Checks.Add(CheckResult.AtMost("timeline differs from what players were told (lost, repeated, reordered)", problems.Count, 0, v => Cells.Count((long)v), strict, 0));
        report.Checks.Add(CheckResult.AtMost("5xx answers other than 503", violations.Count, 0, v => Cells.Count((long)v), strict, 0));
    }

    private static List<double> Latencies(IEnumerable<PlayedTurn> turns, IReadOnlyList<(DateTime From, DateTime To)> windows) =>
        turns.Where(t => t.CompletedAt is not null && windows.Any(w => t.SubmittedAt >= w.From && t.SubmittedAt < w.To))
            .Select(t => (t.CompletedAt!.Value - t.SubmittedAt).TotalMilliseconds).Order().ToList();

    private static IReadOnlyList<string> Row(string what, List<double> ms) =>
        ms.Count == 0
            ? [what, "0", "n/a", "n/a", "n/a", "n/a"]
            : [what, Cells.Count(ms.Count), Cells.Ms(P(ms, 0.5)), Cells.Ms(P(ms, 0.95)), Cells.Ms(P(ms, 0.99)), Cells.Ms(ms[^1])];

    /// <summary>Nearest-rank percentile of a sorted list.</summary>
    private static double P(List<double> sorted, double q) => sorted[Math.Max(0, (int)Math.Ceiling(sorted.Count * q) - 1)];
}
