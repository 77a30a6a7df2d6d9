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
        md.AppendLine($"- Result: {(report.GatesPassed ? "all gates passed" : "**a gate failed**")}").AppendLine();

        foreach (var s in report.Scenarios)
        {
            md.AppendLine($"## {s.Name}").AppendLine().AppendLine(s.Description).AppendLine();
            if (s.Error is not null) md.AppendLine($"**Could not run:** {Escape(s.Error)}").AppendLine();
            foreach (var t in s.Tables) AppendTable(md, t);
            if (s.Checks.Count > 0)
            {
                AppendTable(md, new ReportTable("Targets", ["check", "target", "measured", "result"],
                    s.Checks.Select(c => (IReadOnlyList<string>)new[] { c.Name, c.Target, c.Measured, Verdict(c) }).ToArray()));
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
        var usage = new List<IReadOnlyList<string>>();
        foreach (var u in new[] { p.Target, p.Runner })
            if (u is not null)
                usage.Add(new[] { u.Process, Cells.CpuPercent(u.CpuPercent), Cells.CpuPercent(u.MachineCpuPercent), Cells.Mb(u.PeakRssMb), Cells.Mb(u.EndRssMb) });
        if (usage.Count > 0) AppendTable(md, new ReportTable("", ["process", "CPU (of one core)", "CPU (of machine)", "peak RSS", "RSS at end"], usage));
    }

    public static ReportTable StepTable(IReadOnlyList<StepSummary> steps) => new("",
        ["step", "count", "ok", "fail", "avg", "p50", "p75", "p95", "p99", "max", "RPS", "ok/s", "errors"],
        steps.Select(s => s.IsNotAvailable
            ? (IReadOnlyList<string>)new[] { s.Step, Cells.Count(s.Count), "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "endpoint not available" }
            : new[] { s.Step, Cells.Count(s.Count), Cells.Count(s.Ok), Cells.Count(s.Fail), Cells.Ms(s.MeanMs), Cells.Ms(s.P50Ms), Cells.Ms(s.P75Ms),
               Cells.Ms(s.P95Ms), Cells.Ms(s.P99Ms), Cells.Ms(s.MaxMs), Cells.Rate(s.Rps), Cells.Rate(s.OkPerSecond), Cells.Errors(s.Errors) }).ToArray());

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
