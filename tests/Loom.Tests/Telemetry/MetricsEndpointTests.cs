using System.Globalization;
using System.Text.RegularExpressions;
using Loom.Silo.Telemetry;
using Loom.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Telemetry;

/// <summary>
/// Scrapes a real Kestrel /metrics wired with AddLoomTelemetry and checks the exact Prometheus names the alerts
/// and the dashboard depend on: the exporter's unit and _total suffix rules must give exactly these names.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddLoomTelemetry("loom-tests");
        _app = builder.Build();
        _app.MapLoomMetrics();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    private LoomMetrics Metrics => _app.Services.GetRequiredService<LoomMetrics>();

    private StorageMetrics Storage => _app.Services.GetRequiredService<StorageMetrics>();

    private async Task<string> ScrapeUntil(Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string text;
        do
        {
            using var response = await _http.GetAsync(TelemetryExtensions.MetricsPath);
            Assert.True(response.IsSuccessStatusCode, $"/metrics answered {(int)response.StatusCode}");
            text = await response.Content.ReadAsStringAsync();
            if (done(text))
            {
                return text;
            }

            // The exporter caches a scrape briefly; poll until the new samples show up or the deadline passes.
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        return text;
    }

    private void RecordOneOfEach()
    {
        Metrics.TurnProcessed(TurnOutcomes.Completed, "offline", "story", 0.7);
        Metrics.TurnProcessed(TurnOutcomes.Failed, "offline", "story", 12);
        foreach (var stage in TurnStages.All)
        {
            Metrics.Stage(stage, 0.003);
        }

        Metrics.Error("llm_timeout", "llm");
        Metrics.SessionCreated();
        Metrics.SessionActivated();
        Metrics.Tokens("offline", "loom-offline-1", 42);
        Metrics.Cost(0.25m);
        Metrics.TurnCompleted("openai", "gpt-4o-mini", 0.004m, 200, 180);
        Storage.Operation(StorageOperation.Transaction);
        Storage.Written(1234);
        Storage.TransactionTook(0.004);
    }

    [Fact]
    public async Task Every_agreed_metric_name_is_exported()
    {
        RecordOneOfEach();
        var text = await ScrapeUntil(t => PrometheusNames.All.All(name => HasSeries(t, name)));

        var missing = PrometheusNames.All.Where(name => !HasSeries(text, name)).ToList();
        Assert.True(missing.Count == 0, $"missing from /metrics: {string.Join(", ", missing)}\n{LoomLines(text)}");
    }

    [Fact]
    public async Task Counters_the_alerts_divide_by_exist_before_any_turn_or_error()
    {
        // Nothing recorded: the error-rate alert and the dashboard still get series (at zero), not "no data".
        // A silo creates the storage counters with its storage at start-up; here nothing else would ask for them.
        _ = Storage;
        var text = await ScrapeUntil(t => t.Contains("loom_cost_usd_total", StringComparison.Ordinal));

        foreach (var (errorType, component) in LoomMetrics.SeededErrors)
        {
            Assert.Equal(0, SampleValue(text, PrometheusNames.Errors, $"error_type=\"{errorType}\"", $"component=\"{component}\""));
        }

        Assert.Equal(0, SampleValue(text, PrometheusNames.TurnsProcessed, "status=\"completed\""));
        Assert.Equal(0, SampleValue(text, PrometheusNames.TurnsProcessed, "status=\"failed\""));
        Assert.Equal(0, SampleValue(text, PrometheusNames.CostUsd));
        Assert.Equal(0, SampleValue(text, PrometheusNames.SessionsActive));
        Assert.Equal(0, SampleValue(text, PrometheusNames.SessionsCreated));
        foreach (var operation in StorageMetrics.Operations)
        {
            Assert.Equal(0, SampleValue(text, PrometheusNames.StorageOperations, $"operation=\"{operation}\""));
        }

        Assert.Equal(0, SampleValue(text, PrometheusNames.StorageBytesWritten));
    }

    [Fact]
    public async Task Turn_latency_histogram_has_the_agreed_buckets_and_labels()
    {
        RecordOneOfEach();
        var text = await ScrapeUntil(t => t.Contains("loom_turn_processing_duration_seconds_bucket", StringComparison.Ordinal));

        var buckets = Regex.Matches(text, @"^loom_turn_processing_duration_seconds_bucket\{([^}]*)\}", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value)
            .Where(labels => labels.Contains("session_type=\"story\"") && labels.Contains("llm_provider=\"offline\""))
            .Select(labels => Regex.Match(labels, "le=\"([^\"]+)\"").Groups[1].Value)
            .ToList();
        Assert.Equal(["0.1", "0.5", "1", "1.5", "2", "3", "5", "10", "+Inf"], buckets);
    }

    [Fact]
    public async Task Counters_carry_their_labels_and_values()
    {
        RecordOneOfEach();
        var text = await ScrapeUntil(t => t.Contains("loom_cost_usd_total", StringComparison.Ordinal));

        Assert.True(SampleValue(text, "loom_turns_processed_total", "status=\"failed\"") >= 1, LoomLines(text));
        Assert.True(SampleValue(text, "loom_errors_total", "error_type=\"llm_timeout\"", "component=\"llm\"") >= 1, LoomLines(text));
        Assert.True(SampleValue(text, "loom_llm_tokens_used_total", "provider=\"offline\"", "model=\"loom-offline-1\"") >= 42, LoomLines(text));
        Assert.True(SampleValue(text, "loom_cost_usd_total") >= 0.25, LoomLines(text));
        Assert.True(SampleValue(text, "loom_turn_cost_usd_sum", "provider=\"openai\"", "model=\"gpt-4o-mini\"") >= 0.004, LoomLines(text));
        Assert.True(SampleValue(text, "loom_turn_cost_usd_bucket", "provider=\"openai\"", "le=\"0.005\"") >= 1, LoomLines(text));
        Assert.Equal(0, SampleValue(text, "loom_turn_cost_usd_bucket", "provider=\"openai\"", "le=\"0.0025\""));
        Assert.True(SampleValue(text, "loom_token_efficiency_bucket", "provider=\"openai\"", "le=\"0.9\"") >= 1, LoomLines(text));
        Assert.Equal(0, SampleValue(text, "loom_token_efficiency_bucket", "provider=\"openai\"", "le=\"0.85\""));
        Assert.True(SampleValue(text, "loom_storage_operations_total", "operation=\"transaction\"") >= 1, LoomLines(text));
        Assert.True(SampleValue(text, "loom_storage_bytes_written_total") >= 1234, LoomLines(text));
        Assert.True(SampleValue(text, "loom_storage_transaction_duration_seconds_bucket", "le=\"0.005\"") >= 1, LoomLines(text));
        Assert.Equal(0, SampleValue(text, "loom_storage_transaction_duration_seconds_bucket", "le=\"0.0025\""));
        foreach (var stage in TurnStages.All)
        {
            Assert.True(SampleValue(text, "loom_turn_stage_duration_seconds_count", $"stage=\"{stage}\"") >= 1, LoomLines(text));
        }
    }

    [Fact]
    public async Task A_turn_the_player_stopped_counts_as_cancelled_not_as_an_error_and_records_no_latency()
    {
        var stopped = new Turns.TurnView
        {
            TurnId = "t-stopped", Input = "I wait.", Status = Turns.TurnStatus.Failed, Provider = "offline",
            Error = new Turns.TurnError { Code = Turns.TurnError.CancelledCode, Message = "Stopped." },
        };
        Metrics.TurnCommitted(stopped, "story");
        Metrics.TurnCommitted(stopped with { TurnId = "t-broken", LatencyMs = 900, Error = new Turns.TurnError { Code = "llm_stream_broken", Message = "x" } }, "story");
        var text = await ScrapeUntil(t => t.Contains("status=\"cancelled\"", StringComparison.Ordinal) && t.Contains("llm_stream_broken", StringComparison.Ordinal));

        Assert.Equal(1, SampleValue(text, "loom_turns_processed_total", "status=\"cancelled\""));
        Assert.DoesNotContain("error_type=\"cancelled\"", text);
        Assert.Equal(1, SampleValue(text, "loom_errors_total", "error_type=\"llm_stream_broken\"", "component=\"llm\""));
        Assert.Equal(1, SampleValue(text, "loom_turn_processing_duration_seconds_count", "llm_provider=\"offline\"")); // the broken turn's only
    }

    [Fact]
    public async Task Process_gauges_report_plausible_values()
    {
        var text = await ScrapeUntil(t => t.Contains("loom_memory_limit_bytes", StringComparison.Ordinal));

        var usage = SampleValue(text, "loom_memory_usage_bytes");
        var limit = SampleValue(text, "loom_memory_limit_bytes");
        Assert.InRange(usage, 1024 * 1024, limit);
        Assert.InRange(SampleValue(text, "loom_cpu_usage_percent"), 0, 100);
    }

    [Fact]
    public async Task Session_ids_never_become_label_values()
    {
        // A caller passing unbounded values (here: 500 fake model names) must not create 500 series.
        for (var i = 0; i < 500; i++)
        {
            Metrics.Tokens("openai", $"model-{Guid.NewGuid():N}", 1);
        }

        var text = await ScrapeUntil(t => t.Contains("model=\"other\"", StringComparison.Ordinal));
        var series = Regex.Matches(text, @"^loom_llm_tokens_used_total\{", RegexOptions.Multiline).Count;
        Assert.InRange(series, 1, 70);
        Assert.Contains("model=\"other\"", text, StringComparison.Ordinal);
    }

    private static bool HasSeries(string text, string name) =>
        Regex.IsMatch(text, $@"^{Regex.Escape(name)}(_bucket|_count|_sum)?(\{{| )", RegexOptions.Multiline);

    private static double SampleValue(string text, string name, params string[] labels)
    {
        foreach (Match m in Regex.Matches(text, $@"^{Regex.Escape(name)}(\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline))
        {
            if (labels.All(l => m.Groups[1].Value.Contains(l, StringComparison.Ordinal)))
            {
                return double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"no sample {name} with {string.Join(",", labels)}\n{LoomLines(text)}");
    }

    private static string LoomLines(string text) =>
        string.Join('\n', text.Split('\n').Where(l => l.StartsWith("loom_", StringComparison.Ordinal)).Take(80));
}

[Collection(MetricsCollection.Name)]
public sealed class TelemetryRegistrationTests
{
    [Fact]
    // A gateway co-hosting a silo may call AddLoomTelemetry from both setups: that must not double any series.
    public async Task Adding_telemetry_twice_exports_each_series_once()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddLoomTelemetry("loom-tests").AddLoomTelemetry("loom-tests");
        await using var app = builder.Build();
        app.MapLoomMetrics();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var text = await http.GetStringAsync(TelemetryExtensions.MetricsPath);
        Assert.Single(Regex.Matches(text, @"^loom_memory_limit_bytes(\{[^}]*\})? ", RegexOptions.Multiline));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("1000000")]
    public void A_metric_cardinality_limit_out_of_range_stops_the_start(string limit)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration[TelemetryExtensions.CardinalityLimitKey] = limit;
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => builder.AddLoomTelemetry("loom-tests"));
        Assert.Contains(TelemetryExtensions.CardinalityLimitKey, error.Message);
    }
}
