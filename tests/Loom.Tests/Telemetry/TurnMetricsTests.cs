using System.Globalization;
using System.Text.RegularExpressions;
using Loom.Silo.Telemetry;
using Loom.Telemetry;
using Loom.Tests.Api;

namespace Loom.Tests.Telemetry;

/// <summary>
/// A real turn through the embedded gateway and session grain fills the KPI series the dashboard reads: the
/// latency histogram with its labels, every per-stage timing, turns, sessions and tokens, and no id in any label.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class TurnMetricsTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task A_played_turn_records_every_stage_and_the_turn_kpis_without_ids_in_labels()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var before = await client.GetStringAsync(TelemetryExtensions.MetricsPath);
        var turnId = (await client.PlayAsync(sessionId, "I wade across the ford."))["turnId"]!.GetValue<string>();

        // The turn's metrics are recorded at commit, just after the waiting request is answered: poll for them.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        string text;
        do
        {
            text = await client.GetStringAsync(TelemetryExtensions.MetricsPath);
            if (Sample(text, PrometheusNames.TurnsProcessed, "status=\"completed\"") >= 1 &&
                Sample(text, PrometheusNames.TokenEfficiency + "_count", "provider=\"offline\"") >= 1 &&
                TurnStages.All.All(stage => Sample(text, PrometheusNames.TurnStageDuration + "_count", $"stage=\"{stage}\"") >= 1))
            {
                break;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        foreach (var stage in TurnStages.All)
        {
            Assert.True(Sample(text, PrometheusNames.TurnStageDuration + "_count", $"stage=\"{stage}\"") >= 1, $"no {stage} timing\n{Loom(text)}");
        }

        Assert.True(Sample(text, PrometheusNames.TurnProcessingDuration + "_count", "session_type=\"story\"", "llm_provider=\"offline\"") >= 1, Loom(text));
        Assert.True(Sample(text, PrometheusNames.TurnsProcessed, "status=\"completed\"") >= 1, Loom(text));
        Assert.True(Sample(text, PrometheusNames.SessionsCreated) >= 1, Loom(text));
        Assert.True(Sample(text, PrometheusNames.SessionsActive) >= 1, Loom(text));
        Assert.True(Sample(text, PrometheusNames.LlmTokensUsed, "provider=\"offline\"") > 0, Loom(text));

        // The seed's per-turn KPIs: the offline narrator has no price, so the cost is a recorded zero.
        Assert.True(Sample(text, PrometheusNames.TurnCostUsd + "_count", "provider=\"offline\"", "model=\"") >= 1, Loom(text));
        Assert.Equal(0, Sample(text, PrometheusNames.TurnCostUsd + "_sum", "provider=\"offline\""));
        var efficiency = Sample(text, PrometheusNames.TokenEfficiency + "_sum", "provider=\"offline\"")
            / Sample(text, PrometheusNames.TokenEfficiency + "_count", "provider=\"offline\"");
        Assert.InRange(efficiency, 0.01, 1);

        // The storage layer counted the turn's commit (a transaction of the row store) and its bytes.
        Assert.True(Sample(text, PrometheusNames.StorageOperations, "operation=\"transaction\"")
            > Sample(before, PrometheusNames.StorageOperations, "operation=\"transaction\""), Loom(text));
        Assert.True(Sample(text, PrometheusNames.StorageBytesWritten) > Sample(before, PrometheusNames.StorageBytesWritten), Loom(text));
        Assert.True(Sample(text, PrometheusNames.StorageOperations, "operation=\"read\"") > 0, Loom(text));

        // Bounded cardinality: neither the session nor the turn id appears anywhere in the exposition.
        Assert.DoesNotContain(sessionId, text, StringComparison.Ordinal);
        Assert.DoesNotContain(turnId, text, StringComparison.Ordinal);
    }

    /// <summary>The first sample of <paramref name="name"/> whose labels hold all <paramref name="labels"/>; NaN when none.</summary>
    private static double Sample(string text, string name, params string[] labels)
    {
        foreach (Match m in Regex.Matches(text, $@"^{Regex.Escape(name)}(\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline))
        {
            if (labels.All(l => m.Groups[1].Value.Contains(l, StringComparison.Ordinal)))
            {
                return double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }

    private static string Loom(string text) =>
        string.Join('\n', text.Split('\n').Where(l => l.StartsWith("loom_", StringComparison.Ordinal)).Take(80));
}
