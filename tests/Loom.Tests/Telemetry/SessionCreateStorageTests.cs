using Loom.LoadTests.Monitoring;
using Loom.Sessions;
using Loom.Silo.Telemetry;
using Loom.Telemetry;
using Loom.Tests.Api;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Telemetry;

/// <summary>
/// Creating a session under a fresh id reads no storage row (there is none to read) and activates nothing, and the
/// session it creates is whole: its first use activates it from its header alone (no memory rows to list), and it
/// answers, plays and is listed like any other.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class SessionCreateStorageTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task A_create_reads_nothing_from_storage_and_the_session_plays()
    {
        var client = app.Alice();
        // The world, the owner, the owner's usage and the canon are active and cached after this session's create and turn.
        await client.PlayAsync(await client.CreateSessionAsync(), "I wait by the gate.");
        // The owner's usage counted the turn before its answer (its first call activated, and read, the usage grain).
        var usage = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("/api/usage"))!;
        Assert.Equal(1, usage["turns"]!.GetValue<long>());

        // A create counts itself last, after its reads and its write: a scrape that shows it shows those too.
        var before = await ScrapeUntilAsync(client, s => s.Sum(PrometheusNames.SessionsCreated) >= 1, "1 created session");
        var sessionId = await client.CreateSessionAsync();
        var after = await ScrapeUntilAsync(client, s => s.Sum(PrometheusNames.SessionsCreated) >= 2, "2 created sessions");

        Assert.Equal(0, MetricsSnapshot.Delta(before, after, PrometheusNames.StorageOperations, "operation=\"read\""));
        Assert.True(MetricsSnapshot.Delta(before, after, PrometheusNames.StorageOperations, "operation=\"transaction\"") >= 1,
            "the create's header was not written");
        var local = app.Services.GetRequiredService<LocalSessions>();
        Assert.DoesNotContain(sessionId, local.Snapshot());

        var turn = await client.PlayAsync(sessionId, "I look for the lamplighter.");
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.Contains(sessionId, local.Snapshot());
        // Its first use read the header, and nothing else: the header says no memory row was written yet, so the
        // memory rows are not listed (a session with memory lists them in one range read).
        var turnsBefore = after.Sum(PrometheusNames.TurnsProcessed);
        var played = await ScrapeUntilAsync(client, s => s.Sum(PrometheusNames.TurnsProcessed) > turnsBefore, "the turn");
        Assert.Equal(1, MetricsSnapshot.Delta(after, played, PrometheusNames.StorageOperations, "operation=\"read\""));
        Assert.Equal(0, MetricsSnapshot.Delta(after, played, PrometheusNames.StorageOperations, "operation=\"list\""));
        var listed = await client.GetStringAsync("/api/sessions?limit=100");
        Assert.Contains(sessionId, listed, StringComparison.Ordinal);
    }

    /// <summary>Scrapes until <paramref name="shows"/> holds: the exporter may answer from its cache for a moment.</summary>
    private static async Task<MetricsSnapshot> ScrapeUntilAsync(HttpClient client, Func<MetricsSnapshot, bool> shows, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var snapshot = MetricsSnapshot.Parse([await client.GetStringAsync(TelemetryExtensions.MetricsPath)]);
            if (shows(snapshot)) return snapshot;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"/metrics never counted {what}");
            await Task.Delay(100);
        }
    }
}
