using Loom.LoadTests.Core;

namespace Loom.Tests.LoadTests;

public class StepStatsTests
{
    [Fact]
    public void Percentiles_mean_and_max_follow_the_recorded_latencies()
    {
        var stats = new StepStats("turn");
        for (var ms = 1; ms <= 100; ms++) stats.RecordOk(TimeSpan.FromMilliseconds(ms));

        var s = stats.Summarise(TimeSpan.FromSeconds(4));

        Assert.Equal(100, s.Ok);
        Assert.Equal(0, s.Fail);
        // HdrHistogram with 3 significant digits: values are exact to 0.1 %.
        Assert.InRange(s.P50Ms, 49.9, 50.1);
        Assert.InRange(s.P75Ms, 74.9, 75.1);
        Assert.InRange(s.P95Ms, 94.9, 95.1);
        Assert.InRange(s.P99Ms, 98.9, 99.1);
        Assert.InRange(s.MaxMs, 99.9, 100.1);
        Assert.InRange(s.MeanMs, 50.4, 50.6);
        Assert.Equal(25, s.Rps, 3);
        Assert.Equal(25, s.OkPerSecond, 3);
    }

    [Fact]
    public void Failures_are_tallied_by_kind_and_kept_out_of_the_latencies()
    {
        var stats = new StepStats("create");
        stats.RecordOk(TimeSpan.FromMilliseconds(10));
        stats.RecordOk(TimeSpan.FromMilliseconds(10));
        stats.RecordFail("http 500");
        stats.RecordFail("http 500");
        stats.RecordFail("client timeout");

        var s = stats.Summarise(TimeSpan.FromSeconds(1));

        Assert.Equal(5, s.Count);
        Assert.Equal(3, s.Fail);
        Assert.Equal(0.6, s.ErrorRate, 6);
        Assert.Equal(2, s.Errors["http 500"]);
        Assert.Equal(1, s.Errors["client timeout"]);
        Assert.InRange(s.P95Ms, 9.99, 10.01);
        Assert.Equal(5, s.Rps, 6);
        Assert.Equal(2, s.OkPerSecond, 6);
    }

    [Fact]
    public void A_step_with_only_not_available_answers_is_not_available_and_has_no_latency()
    {
        var stats = new StepStats("vector search");
        stats.RecordNotAvailable();

        var s = stats.Summarise(TimeSpan.FromSeconds(1));

        Assert.True(s.IsNotAvailable);
        Assert.Equal(0, s.ErrorRate);
        Assert.True(double.IsNaN(s.P95Ms));
        Assert.True(double.IsNaN(s.MeanMs));
    }

    [Fact]
    public async Task Step_runner_classifies_outcomes_and_records_them()
    {
        var steps = new StepRecorder();
        var ok = await steps.RunAsync("s", _ => Task.FromResult(42), CancellationToken.None);
        var failed = await steps.RunAsync<int>("s", _ => throw new Loom.LoadTests.Client.LoomApiException(429, "Too many", "POST", "/x"), CancellationToken.None);
        var na = await steps.RunAsync<int>("s", _ => throw new NotAvailableException("no route"), CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var stopped = await steps.RunAsync<int>("s", c => Task.FromCanceled<int>(c), cancelled.Token);

        Assert.True(ok.IsOk);
        Assert.Equal(42, ok.Value);
        Assert.Equal(StepStatus.Failed, failed.Status);
        Assert.Equal("http 429", failed.ErrorKind);
        Assert.Equal(StepStatus.NotAvailable, na.Status);
        Assert.Equal(StepStatus.Cancelled, stopped.Status);
        var s = steps.Summarise(TimeSpan.FromSeconds(1)).Single();
        Assert.Equal((1L, 1L, 1L), (s.Ok, s.Fail, s.NotAvailable));
    }

    [Theory]
    [InlineData("1.5s", 1500)]
    [InlineData("250ms", 250)]
    [InlineData("2m", 120_000)]
    [InlineData("30", 30_000)]
    [InlineData("0", 0)]
    public void Durations_parse_the_cli_forms(string text, double ms)
    {
        Assert.True(Durations.TryParse(text, out var t));
        Assert.Equal(ms, t.TotalMilliseconds, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("-1s")]
    [InlineData("1.5x")]
    public void Durations_reject_nonsense(string text) => Assert.False(Durations.TryParse(text, out _));
}
