using System.Text;
using Loom.LoadTests.Core;

namespace Loom.LoadTests.Reporting;

public static class MarkdownReportWriter
{
    public static string Render(RunReport report)
    {
        var md = new StringBuilder();
        md.AppendLine($"# {report.Title}").AppendLine();
        md.AppendLine($"- Started: {report.StartedAt:yyyy-MM-dd HH:mm:ss} UTC, finished {report.FinishedAt:HH:mm:ss} UTC");
        md.AppendLine($"- Target: {report.Target}");
        md.AppendLine($"- LLM: {report.Llm}");
        md.AppendLine($"- Machine: {report.Machine}");
        md.AppendLine($"- Command: `{report.CommandLine}`");
        md.AppendLine($"- Result: {(report.GatesPassed ? report.Result : $"**{report.Result}**")}").AppendLine();

        foreach (var s in report.Scenarios)
        {
            md.AppendLine($"## {s.Name}").AppendLine().AppendLine(s.Description).AppendLine();
            if (s.Error is not null) md.AppendLine($"**Could not run:** {Escape(s.Error)}").AppendLine();
            foreach (var t in s.Tables) AppendTable(md, t);
            if (s.Checks.Count > 0)
            {
                AppendTable(md, new ReportTable("Targets", ["check", "bound", "target", "measured", "result"],
                    s.Checks.Select(c => (IReadOnlyList<string>)new[] { c.Name, c.Bound, c.Target, c.Measured, Verdict(c) }).ToArray()));
            }
            foreach (var n in s.Notes) md.AppendLine($"> {n}").AppendLine();
            if (s.Phases.Count > 0)
            {
                md.AppendLine("<details><summary>Raw step figures</summary>").AppendLine();
                foreach (var p in s.Phases) AppendPhase(md, p);
                md.AppendLine("</details>").AppendLine();
            }
        }
        return md.ToString();
    }

    private static string Verdict(CheckResult c) => c.Status switch
    {
        CheckStatus.Pass => "pass",
        CheckStatus.Fail => c.Gate ? "**FAIL (gate)**" : "**miss**",
        _ => "n/a",
    };

    private static void AppendPhase(StringBuilder md, PhaseReport p)
    {
        md.AppendLine($"**{p.Name}** — {p.Simulation}; {p.ElapsedSeconds:0.0} s, {p.IterationsCompleted} iterations, peak concurrency {p.PeakConcurrency}"
                      + (p.IterationsDropped > 0 ? $", {p.IterationsDropped} dropped" : "")
                      + (p.IterationsCrashed > 0 ? $", {p.IterationsCrashed} crashed" : "")
                      + (p.HitHardLimit ? ", stopped at the time limit" : "")).AppendLine();
        AppendTable(md, StepTable(p.Steps));
        var usage = UsageRows(p);
        if (usage.Count > 0) AppendTable(md, new ReportTable("", UsageColumns, usage));
    }

    /// <summary>Each watched process when there are several, then the target (their sum) and the runner.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> UsageRows(PhaseReport p)
    {
        IEnumerable<Monitoring.ProcessUsage?> usages = p.TargetProcesses.Count > 1 ? [.. p.TargetProcesses, p.Target, p.Runner] : [p.Target, p.Runner];
        return usages.OfType<Monitoring.ProcessUsage>().Select(UsageRow).ToArray();
    }

    public static readonly IReadOnlyList<string> UsageColumns = ["process", "CPU (of one core)", "CPU (of machine)", "CPU time", "peak RSS", "RSS at end"];

    public static IReadOnlyList<string> UsageRow(Monitoring.ProcessUsage u) =>
        [u.Process, Cells.CpuPercent(u.CpuPercent), Cells.CpuPercent(u.MachineCpuPercent), Cells.Seconds(u.CpuSeconds), Cells.Mb(u.PeakRssMb), Cells.Mb(u.EndRssMb)];

    /// <summary>NBomber's step statistics: counts, RPS, latency spread, data transfer and status codes.</summary>
    public static ReportTable StepTable(IReadOnlyList<StepSummary> steps) => new("",
        ["step", "count", "ok", "fail", "RPS", "ok/s", "min", "mean", "max", "p50", "p75", "p95", "p99", "std dev", "sent", "received", "status codes", "errors"],
        steps.Select(s => s.IsNotAvailable
            ? (IReadOnlyList<string>)[s.Step, Cells.Count(s.Count), "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a",
                Cells.DataSize(s.BytesSent), Cells.DataSize(s.BytesReceived), Cells.Errors(s.StatusCodes), "endpoint not available"]
            : [s.Step, Cells.Count(s.Count), Cells.Count(s.Ok), Cells.Count(s.Fail), Cells.Rate(s.Rps), Cells.Rate(s.OkPerSecond),
               Cells.Ms(s.MinMs), Cells.Ms(s.MeanMs), Cells.Ms(s.MaxMs), Cells.Ms(s.P50Ms), Cells.Ms(s.P75Ms), Cells.Ms(s.P95Ms), Cells.Ms(s.P99Ms),
               Cells.Ms(s.StdDevMs), Cells.DataSize(s.BytesSent), Cells.DataSize(s.BytesReceived), Cells.Errors(s.StatusCodes), Cells.Errors(s.Errors)]).ToArray());

    public static void AppendTable(StringBuilder md, ReportTable table)
    {
        if (!string.IsNullOrEmpty(table.Title)) md.AppendLine($"### {table.Title}").AppendLine();
        md.Append('|').AppendJoin('|', table.Columns.Select(c => $" {Escape(c)} ")).AppendLine("|");
        md.Append('|').AppendJoin('|', table.Columns.Select(_ => "---")).AppendLine("|");
        foreach (var row in table.Rows)
        {
            // Short rows are padded so a table never renders ragged.
            var cells = row.Concat(Enumerable.Repeat("", Math.Max(0, table.Columns.Count - row.Count))).Take(table.Columns.Count);
            md.Append('|').AppendJoin('|', cells.Select(c => $" {Escape(c)} ")).AppendLine("|");
        }
        md.AppendLine();
    }

    /// <summary>Pipes and line breaks would break a Markdown table row.</summary>
    public static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
