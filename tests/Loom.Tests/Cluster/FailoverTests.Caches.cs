using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Loom.LoadTests.Monitoring;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Cluster;

/// <summary>Issue 16's cache tiers across real processes (first, on the fresh cluster: it reads counters as deltas).</summary>
public sealed partial class FailoverTests
{
    [Fact]
    public async Task Step0_cache_tiers_share_a_canon_between_silos_and_drop_world_lists_in_every_gateway()
    {
        await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount, TimeSpan.FromSeconds(60));
        var secondUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var second = cluster.NewGateway("gateway-cache", secondUrl);
        cluster.Extra.Add(second);
        second.Start();
        await cluster.WaitForGatewayReadyAsync(secondUrl, TimeSpan.FromSeconds(60));
        using var viaSecond = new HttpClient { BaseAddress = secondUrl, Timeout = TimeSpan.FromSeconds(10) };
        viaSecond.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cluster.ApiKey);
        try
        {
            // A new world: the first silo to need its canon reads it from storage; every other silo reads it from Redis.
            // Each session plays a turn: a create activates nothing, so a session reaches the silo it is placed on (and
            // needs the canon there) when it is first used.
            var world = "cache-" + Guid.NewGuid().ToString("N")[..8];
            await PublishAsync(cluster.Http, world);
            var before = await CanonCountersAsync();
            const int sessions = 9;
            for (var i = 0; i < sessions; i++)
            {
                using var created = await cluster.Http.PostAsJsonAsync("/api/sessions", new { worldId = world, name = $"cache {i}" });
                Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
                var sessionId = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["sessionId"]!.GetValue<string>();
                using var played = await cluster.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/turns?wait=true", new { input = "I read the harbour board." });
                Assert.True(played.IsSuccessStatusCode, await played.Content.ReadAsStringAsync());
                if (i > 0) continue;
                // HybridCache writes Redis in the background once the first silo has the canon; the others find it after.
                var written = System.Diagnostics.Stopwatch.StartNew();
                while (!await cluster.CacheHoldsAsync($"canon:{world}:1") && written.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
            }
            var after = await CanonCountersAsync();
            var delta = after.Select((a, i) => (Requests: a.Requests - before[i].Requests, Loads: a.Loads - before[i].Loads,
                Hits: a.Hits - before[i].Hits)).ToList();
            var silosUsed = delta.Count(d => d.Requests > 0);

            // World lists: cached in the second gateway, dropped there when a world is published through the first.
            var listed = await WorldIdsAsync(viaSecond);
            Assert.Contains(world, listed);
            // (The gateway caches lists once it listens on the invalidation channel, a moment after start-up.)
            var servedFromCache = false;
            var listening = System.Diagnostics.Stopwatch.StartNew();
            while (!servedFromCache && listening.Elapsed < TimeSpan.FromSeconds(10))
            {
                var loadsBefore = await GatewayCounterAsync(secondUrl, "loom_cache_loads_total", "worlds");
                await WorldIdsAsync(viaSecond);
                servedFromCache = await GatewayCounterAsync(secondUrl, "loom_cache_loads_total", "worlds") == loadsBefore;
            }
            var next = world + "-b";
            await PublishAsync(cluster.Http, next);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var seen = false;
            while (clock.Elapsed < TimeSpan.FromSeconds(5) && !(seen = (await WorldIdsAsync(viaSecond)).Contains(next))) await Task.Delay(20);

            Record($"cache tiers: {sessions} sessions of a new world on {silosUsed} silos: canon loaded from storage " +
                   $"{delta.Sum(d => d.Loads)}×, from Redis {delta.Sum(d => d.Hits)}× " +
                   $"({string.Join(", ", delta.Select((d, i) => $"silo-{i}: {d.Requests} req/{d.Loads} load/{d.Hits} redis"))}); " +
                   $"second gateway's world list cached: {servedFromCache}; a world published through the first gateway listed " +
                   $"by the second after {clock.Elapsed.TotalMilliseconds:F0} ms");
            Assert.True(silosUsed >= 2, "the sessions all landed on one silo");
            Assert.Equal(1, delta.Sum(d => d.Loads));
            Assert.Equal(silosUsed - 1, delta.Sum(d => d.Hits));
            Assert.True(servedFromCache, "the second gateway read the world list from the catalog twice");
            Assert.True(seen, "the second gateway kept serving a world list without the newly published world");
        }
        finally
        {
            cluster.ExpectedDown.Add(second);
            await second.StopAsync();
        }
    }

    private static async Task PublishAsync(HttpClient http, string world)
    {
        using var body = new StringContent($"# World\n\n{world}: a valley kept by the cache tests.\n\n# Tone\n\nQuiet.\n",
            Encoding.UTF8, "text/markdown");
        using var response = await http.PutAsync($"/api/worlds/{world}?title={world}", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<List<string>> WorldIdsAsync(HttpClient http)
    {
        var list = await http.GetFromJsonAsync<JsonObject>("/api/worlds");
        return list!["items"]!.AsArray().Select(w => (string)w!["worldId"]!).ToList();
    }

    private async Task<List<(long Requests, long Loads, long Hits)>> CanonCountersAsync()
    {
        var counters = new List<(long, long, long)>();
        foreach (var url in cluster.SiloHttpUrls)
        {
            var metrics = await ScrapeAsync(url);
            counters.Add(((long)metrics.Sum("loom_cache_requests_total", Canon), (long)metrics.Sum("loom_cache_loads_total", Canon),
                (long)metrics.Sum("loom_cache_distributed_reads_total", Canon, "result=\"hit\"")));
        }
        return counters;
    }

    private const string Canon = "cache=\"canon\"";

    private static async Task<long> GatewayCounterAsync(Uri url, string metric, string cache) =>
        (long)(await ScrapeAsync(url)).Sum(metric, $"cache=\"{cache}\"");

    private static async Task<MetricsSnapshot> ScrapeAsync(Uri url)
    {
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        return MetricsSnapshot.Parse([await http.GetStringAsync("/metrics")]);
    }
}
