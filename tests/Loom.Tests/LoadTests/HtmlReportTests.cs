using System.Diagnostics;
using System.Text.RegularExpressions;
using Loom.LoadTests.Core;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;

namespace Loom.Tests.LoadTests;

public class HtmlReportTests
{
    private static RunReport Sample()
    {
        var origin = Stopwatch.GetTimestamp();
        var turn = new StepStats("turn <b>", origin);
        for (var i = 0; i < 50; i++) turn.RecordOk(TimeSpan.FromMilliseconds(1500 + i), origin + i * Stopwatch.Frequency / 10);
        turn.RecordFail("http 503", origin + 2 * Stopwatch.Frequency);
        turn.RecordTraffic("200", 100, 400);

        var scenario = new ScenarioReport("e2e", "End to end");
        scenario.Checks.Add(CheckResult.AtLeast("TPS", 60, 65, Cells.Rate, bound: 66.7, unit: "turns/s"));
        scenario.Checks.Add(CheckResult.AtMost("turn p95", 1520, 1530, Cells.Ms, bound: 1500, unit: "ms"));
        scenario.Tables.Add(new ReportTable("End to end", ["metric", "measured"], [["TPS", "60.0/s"]]));
        scenario.Phases.Add(new PhaseReport("100 users × 5 turns", "constant concurrency", 5, 50, 0, 0, 100, false,
            [turn.Summarise(TimeSpan.FromSeconds(5))], new ProcessUsage("LOOM (2 processes)", 150, 75, 300, 280, 310) { CpuSeconds = 7.5 },
            new ProcessUsage("runner", 20, 10, 80, 80, 80))
        {
            TargetProcesses = [new ProcessUsage("gateway", 50, 25, 100, 90, 110), new ProcessUsage("silo-0", 100, 50, 200, 190, 200)],
            TargetTimeline = [new ResourceSample(1, [40, 90], [95, 180]), new ResourceSample(2, [60, 110], [100, 200])],
        });
        var report = new RunReport { Title = "LOOM load test: e2e", StartedAt = DateTimeOffset.UnixEpoch, Target = "cluster", Llm = "fake", CommandLine = "all" };
        report.Scenarios.Add(scenario);
        return report;
    }

    [Fact]
    public void The_page_is_self_contained()
    {
        var html = HtmlReportWriter.Render(Sample());

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        // The only URL allowed is the SVG namespace, which is a name, not something fetched.
        var urls = Regex.Matches(html, "https?://[^\"' <)]+").Select(m => m.Value).Distinct();
        Assert.All(urls, u => Assert.Equal("http://www.w3.org/2000/svg", u));
        Assert.DoesNotContain("src=", html);
    }

    [Fact]
    public void The_page_has_every_chart_and_the_step_table()
    {
        var html = HtmlReportWriter.Render(Sample());

        Assert.Contains("Latency over time", html);
        Assert.Contains("Throughput over time", html);
        Assert.Contains("Latency histogram: turn &lt;b&gt;", html); // names are escaped
        Assert.Contains("Target CPU over time", html);
        Assert.Contains("Target RSS over time", html);
        Assert.Contains("all LOOM processes", html); // the sum line of a cluster
        Assert.Contains("Measured beside target and bound", html);
        Assert.True(Regex.Matches(html, "<svg ").Count >= 6);
        foreach (var column in new[] { "RPS", "min", "mean", "max", "p50", "p75", "p95", "p99", "std dev", "sent", "received", "status codes" })
            Assert.Contains($"<th>{column}</th>", html);
        Assert.Contains("<td>66.7/s</td><td>≥ 65.0/s</td><td>60.0/s</td><td class=\"miss\">miss</td>", html);
        Assert.Contains("silo-0", html);
    }

    [Fact]
    public void Nice_ticks_cover_the_data()
    {
        var (ticks, top) = SvgChart.Ticks(0, 66.7);

        Assert.Equal(0, ticks[0]);
        Assert.True(top >= 66.7);
        Assert.Equal(top, ticks[^1]);
        Assert.InRange(ticks.Count, 4, 9);
    }

    [Fact]
    public void Empty_series_draw_nothing_rather_than_a_broken_chart()
    {
        Assert.Equal("", SvgChart.Line("t", "x", "y", [new ChartSeries("a", [(0, double.NaN)])]));
        Assert.Equal("", SvgChart.Bars("t", "x", "y", []));
        Assert.Equal("", SvgChart.Targets("t", [CheckResult.NotApplicable("x", "≥ 1", "not run")]));
    }
}
