using System.Text.Json;
using Loom.LoadTests.Core;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;

namespace Loom.Tests.LoadTests;

public class ReportRenderingTests
{
    private static RunReport SampleReport(bool gateFails)
    {
        var stats = new StepStats("turn");
        stats.RecordOk(TimeSpan.FromMilliseconds(1500));
        stats.RecordFail("http 503");
        var na = new StepStats("vector search");
        na.RecordNotAvailable();

        var scenario = new ScenarioReport("e2e", "End to end | with a pipe");
        scenario.Tables.Add(new ReportTable("End to end", ["metric", "measured", "seed", "target"],
            [new[] { "TPS", "66.0/s", "63.8", "≥ 65" }, new[] { "short row" }]));
        scenario.Checks.Add(CheckResult.AtLeast("TPS", 66, 65, Cells.Rate));
        scenario.Checks.Add(CheckResult.AtMost("failed turns", gateFails ? 1 : 0, 0, v => v.ToString(), gate: true));
        scenario.Checks.Add(CheckResult.AtMost("peak RSS", double.NaN, 200, Cells.Mb));
        scenario.Notes.Add("a note");
        scenario.Phases.Add(new PhaseReport("100 users × 5 turns", "constant concurrency", 7.6, 500, 0, 0, 100, false,
            [stats.Summarise(TimeSpan.FromSeconds(2)), na.Summarise(TimeSpan.FromSeconds(2))],
            new ProcessUsage("target", 150, 75, 180, 170, 190), null));

        var report = new RunReport
        {
            Title = "LOOM load test: e2e",
            StartedAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero),
            Target = "embedded gateway",
            Llm = "fake",
            CommandLine = "dotnet run -- e2e",
        };
        report.Scenarios.Add(scenario);
        return report;
    }

    [Fact]
    public void Markdown_has_the_tables_checks_and_raw_step_figures()
    {
        var md = MarkdownReportWriter.Render(SampleReport(gateFails: false));

        Assert.Contains("# LOOM load test: e2e", md);
        Assert.Contains("## e2e", md);
        Assert.Contains("| metric | measured | seed | target |", md);
        Assert.Contains("| TPS | 66.0/s | 63.8 | ≥ 65 |", md);
        Assert.Contains("| short row |  |  |  |", md); // padded to the header's width
        Assert.Contains("| TPS | – | ≥ 65.0/s | 66.0/s | pass |", md);
        Assert.Contains("| peak RSS | – | ≤ 200 MB | n/a | n/a |", md);
        Assert.Contains("http 503 ×1", md);
        Assert.Contains("| vector search | 1 | n/a |", md);
        Assert.Contains("> a note", md);
        Assert.Contains("all gates passed", md);
        // Every table row has as many cells as its header.
        foreach (var block in md.Split("\n\n").Where(b => b.StartsWith('|')))
        {
            var lines = block.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var width = CountCells(lines[0]);
            Assert.All(lines, l => Assert.Equal(width, CountCells(l)));
        }
    }

    [Fact]
    public void A_failed_gate_is_flagged_in_markdown_and_fails_the_run()
    {
        var report = SampleReport(gateFails: true);

        Assert.False(report.GatesPassed);
        Assert.Contains("**FAIL (gate)**", MarkdownReportWriter.Render(report));
    }

    [Fact]
    public void The_result_counts_missed_targets_beside_the_gates()
    {
        var clean = SampleReport(gateFails: false);
        Assert.Equal("all gates passed; all 2 targets met", clean.Result); // the unmeasured RSS is neither met nor missed

        var missed = SampleReport(gateFails: false);
        missed.Scenarios[0].Checks.Add(CheckResult.AtMost("turn p95", 1.97, 1.6, v => $"{v:0.00} s"));
        Assert.True(missed.GatesPassed); // a target that is not a gate does not fail the run...
        Assert.Equal("all gates passed; 1 of 3 targets missed", missed.Result); // ...but the verdict says it was missed
        Assert.Contains("- Result: all gates passed; 1 of 3 targets missed", MarkdownReportWriter.Render(missed));
        Assert.Contains("<td class=\"fail\">all gates passed; 1 of 3 targets missed</td>", HtmlReportWriter.Render(missed));
        Assert.Contains("\"result\":", JsonReportWriter.Render(missed));

        var failed = SampleReport(gateFails: true);
        Assert.Equal("a gate failed; 1 of 2 targets missed", failed.Result);
        Assert.Contains("- Result: **a gate failed; 1 of 2 targets missed**", MarkdownReportWriter.Render(failed));
    }

    [Fact]
    public void Pipes_in_cells_are_escaped()
    {
        Assert.Equal("a \\| b", MarkdownReportWriter.Escape("a | b"));
        Assert.Equal("two lines", MarkdownReportWriter.Escape("two\r\nlines").Replace("  ", " "));
    }

    [Fact]
    public void Json_report_round_trips_with_not_measured_values()
    {
        var json = JsonReportWriter.Render(SampleReport(gateFails: false));

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("gatesPassed").GetBoolean());
        var scenario = root.GetProperty("scenarios")[0];
        Assert.Equal("e2e", scenario.GetProperty("name").GetString());
        Assert.Equal("notAvailable", scenario.GetProperty("checks")[2].GetProperty("status").GetString());
        var steps = scenario.GetProperty("phases")[0].GetProperty("steps");
        Assert.Equal(1, steps[0].GetProperty("fail").GetInt64());
        Assert.Equal("NaN", steps[1].GetProperty("p95Ms").GetString());
    }

    private static int CountCells(string line) => line.Replace("\\|", "", StringComparison.Ordinal).Count(c => c == '|') - 1;
}

public class CanonSampleTests
{
    [Theory]
    [InlineData(1024)]
    [InlineData(10 * 1024)]
    [InlineData(1024 * 1024)]
    public void Generated_canon_has_exactly_the_requested_size_and_the_required_sections(int bytes)
    {
        var text = Loom.LoadTests.Scenarios.CanonSamples.OfSize(bytes)["world.md"];

        Assert.Equal(bytes, System.Text.Encoding.UTF8.GetByteCount(text));
        Assert.Contains("# World", text);
        Assert.Contains("# Tone", text);
    }
}
