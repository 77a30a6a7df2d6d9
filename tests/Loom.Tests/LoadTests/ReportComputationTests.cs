using System.Diagnostics;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using Loom.LoadTests.Scenarios;

namespace Loom.Tests.LoadTests;

/// <summary>The figures of NBomber's step table, computed on known data.</summary>
public class ReportComputationTests
{
    [Fact]
    public void Min_mean_and_standard_deviation_are_exact()
    {
        var stats = new StepStats("turn");
        // 2, 4, 4, 4, 5, 5, 7, 9 ms: mean 5, population standard deviation 2.
        foreach (var ms in new[] { 2, 4, 4, 4, 5, 5, 7, 9 }) stats.RecordOk(TimeSpan.FromMilliseconds(ms));

        var s = stats.Summarise(TimeSpan.FromSeconds(2));

        Assert.Equal(2, s.MinMs, 9);
        Assert.Equal(9, s.MaxMs, 9);
        Assert.Equal(5, s.MeanMs, 9);
        Assert.Equal(2, s.StdDevMs, 9);
        Assert.Equal(4, s.Rps, 9);
    }

    [Fact]
    public void Percentiles_follow_the_distribution_not_the_order()
    {
        var stats = new StepStats("turn");
        var values = Enumerable.Range(1, 1000).Reverse().ToArray(); // recorded from slowest to fastest
        foreach (var ms in values) stats.RecordOk(TimeSpan.FromMilliseconds(ms));

        var s = stats.Summarise(TimeSpan.FromSeconds(10));

        Assert.InRange(s.P50Ms, 499.5, 500.5);
        Assert.InRange(s.P75Ms, 749.5, 750.5);
        Assert.InRange(s.P95Ms, 949.5, 950.5);
        Assert.InRange(s.P99Ms, 989.5, 990.5);
        Assert.Equal(100, s.OkPerSecond, 9);
        Assert.Equal(1000, s.Histogram.Sum(b => b.Count));
    }

    [Fact]
    public void No_successes_means_no_latency_figures()
    {
        var stats = new StepStats("turn");
        stats.RecordFail("http 503");

        var s = stats.Summarise(TimeSpan.FromSeconds(1));

        Assert.True(double.IsNaN(s.MinMs));
        Assert.True(double.IsNaN(s.StdDevMs));
        Assert.Empty(s.Histogram);
        Assert.Equal(1, s.Rps, 9);
        Assert.Equal(0, s.OkPerSecond, 9);
    }

    [Fact]
    public void Traffic_sums_bytes_and_tallies_status_codes()
    {
        var stats = new StepStats("create");
        stats.RecordTraffic("201", 120, 300);
        stats.RecordTraffic("201", 80, 200);
        stats.RecordTraffic("503", 100, 50);
        stats.RecordTraffic("none", 100, 0);

        var s = stats.Summarise(TimeSpan.FromSeconds(1));

        Assert.Equal(400, s.BytesSent);
        Assert.Equal(550, s.BytesReceived);
        Assert.Equal(2, s.StatusCodes["201"]);
        Assert.Equal(1, s.StatusCodes["503"]);
        Assert.Equal(1, s.StatusCodes["none"]);
    }

    [Fact]
    public void The_timeline_puts_each_call_in_the_second_it_finished()
    {
        var origin = Stopwatch.GetTimestamp();
        var stats = new StepStats("turn", origin);
        long At(double seconds) => origin + (long)(seconds * Stopwatch.Frequency);
        stats.RecordOk(TimeSpan.FromMilliseconds(10), At(0.2));
        stats.RecordOk(TimeSpan.FromMilliseconds(30), At(0.9));
        stats.RecordFail("http 500", At(2.5));
        stats.RecordOk(TimeSpan.FromMilliseconds(100), At(2.7));

        var t = stats.Summarise(TimeSpan.FromSeconds(3)).Timeline;

        Assert.Equal([0, 1, 2], t.Select(p => p.Second));
        Assert.Equal([2L, 0L, 1L], t.Select(p => p.Ok));
        Assert.Equal([0L, 0L, 1L], t.Select(p => p.Fail));
        Assert.InRange(t[0].MeanMs, 19.8, 20.2);
        Assert.InRange(t[0].MaxMs, 29.8, 30.2);
        Assert.True(double.IsNaN(t[1].P95Ms)); // nothing succeeded in second 1
        Assert.InRange(t[2].P50Ms, 99, 101);
    }

    [Fact]
    public void Histogram_buckets_are_contiguous_and_log_spaced()
    {
        var stats = new StepStats("turn");
        stats.RecordOk(TimeSpan.FromMilliseconds(1));
        stats.RecordOk(TimeSpan.FromMilliseconds(1000));

        var h = stats.Summarise(TimeSpan.FromSeconds(1)).Histogram;

        Assert.Equal(2, h.Sum(b => b.Count));
        Assert.Equal(3 * LatencyHistogram.BucketsPerDecade + 1, h.Count); // 1 ms .. 1 s is three decades
        for (var i = 1; i < h.Count; i++) Assert.Equal(h[i - 1].ToMs, h[i].FromMs, 9);
        Assert.InRange(h[0].FromMs, 0.99, 1.0);
    }

    [Theory]
    [InlineData(66.0, CheckStatus.Pass)]
    [InlineData(65.0, CheckStatus.Pass)]
    [InlineData(64.9, CheckStatus.Fail)]
    [InlineData(double.NaN, CheckStatus.NotAvailable)]
    public void At_least_thresholds_pass_at_and_above_the_target(double measured, CheckStatus expected)
    {
        var c = CheckResult.AtLeast("TPS", measured, 65, Cells.Rate, bound: 66.7, unit: "turns/s");

        Assert.Equal(expected, c.Status);
        Assert.Equal("66.7/s", c.Bound);
        Assert.Equal("≥ 65.0/s", c.Target);
        Assert.Equal(66.7, c.BoundValue, 9);
    }

    [Theory]
    [InlineData(1529.0, CheckStatus.Pass)]
    [InlineData(1530.0, CheckStatus.Pass)]
    [InlineData(1530.1, CheckStatus.Fail)]
    public void At_most_thresholds_pass_at_and_below_the_limit(double measured, CheckStatus expected)
    {
        var c = CheckResult.AtMost("p95", measured, 1530, Cells.Ms, gate: true, bound: 1500);

        Assert.Equal(expected, c.Status);
        Assert.Equal(expected == CheckStatus.Fail ? "FAIL (gate)" : "pass", c.Verdict);
        Assert.Equal("1.50 s", c.Bound);
    }

    [Theory]
    [InlineData(2.0011, "2.0 ms (2.0011 ms)", CheckStatus.Fail)]
    [InlineData(2.0, "2.0 ms", CheckStatus.Pass)]
    [InlineData(1.96, "2.0 ms (1.96 ms)", CheckStatus.Pass)]
    [InlineData(2.06, "2.1 ms", CheckStatus.Fail)]
    public void A_figure_that_prints_like_its_limit_shows_its_exact_value(double measured, string cell, CheckStatus expected)
    {
        var c = CheckResult.AtMost("overhead p50", measured, 2, Cells.Ms, unit: "ms");

        Assert.Equal(cell, c.Measured);
        Assert.Equal(expected, c.Status);
    }

    [Fact]
    public void Engine_cpu_per_turn_and_memory_per_session_are_plain_ratios()
    {
        Assert.Equal(2.5, OverheadScenario.EngineCpuMsPerTurn(25, 10_000), 9); // 25 s of CPU over 10,000 turns
        Assert.True(double.IsNaN(OverheadScenario.EngineCpuMsPerTurn(25, 0)));
        Assert.True(double.IsNaN(OverheadScenario.EngineCpuMsPerTurn(double.NaN, 10)));
        Assert.Equal(1024 * 100.0 / 10_000 * 1024, IdleSessionsScenario.PerSession(200, 300, 10_000, 1024 * 1024), 6);
        Assert.True(double.IsNaN(IdleSessionsScenario.PerSession(double.NaN, 300, 10, 1)));
    }

    [Theory]
    [InlineData(10_000, 300)]
    [InlineData(1_000, 120)]
    [InlineData(3, 1)]
    public void Idle_sessions_start_exactly_the_sessions_asked_for(int sessions, int seconds)
    {
        var simulation = IdleSessionsScenario.Simulation(sessions, TimeSpan.FromSeconds(seconds));

        simulation.Validate();
        Assert.Equal(sessions, simulation.TotalIterations);
        Assert.Equal(sessions, simulation.MaxConcurrency); // none dropped
    }

    [Theory]
    [InlineData(1_140_000, "19 min")]
    [InlineData(90_000, "90.00 s")]
    [InlineData(1.5, "1.5 ms")]
    public void Durations_print_in_the_unit_that_reads_best(double ms, string expected) => Assert.Equal(expected, Loom.LoadTests.Core.Durations.FormatMs(ms));

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1536L, "1.5 KB")]
    [InlineData(5L * 1024 * 1024, "5.00 MB")]
    public void Data_sizes_read_in_binary_units(long bytes, string expected) => Assert.Equal(expected, Cells.DataSize(bytes));
}
