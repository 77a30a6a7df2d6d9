using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Loom.Telemetry;

namespace Loom.Caching;

/// <summary>
/// <c>loom_cache_requests_total{cache}</c>, <c>loom_cache_loads_total{cache}</c> (the source was read: a miss in both
/// tiers) and <c>loom_cache_distributed_reads_total{cache,result}</c> (second-tier reads, i.e. first-tier misses).
/// First-tier hit rate = 1 − distributed reads ÷ requests; second-tier hit rate = distributed hits ÷ distributed reads.
/// Observable so every series exists at zero from start-up.
/// </summary>
public sealed class CacheMetrics
{
    private readonly ConcurrentDictionary<string, long> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _loads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Cache, string Result), long> _distributed = new();

    public CacheMetrics(IMeterFactory meterFactory)
    {
        foreach (var name in CacheNames.All)
        {
            _requests[name] = 0;
            _loads[name] = 0;
            _distributed[(name, "hit")] = 0;
            _distributed[(name, "miss")] = 0;
        }

        var meter = meterFactory.Create(LoomTelemetry.MeterName);
        meter.CreateObservableCounter("loom_cache_requests", () => Observe(_requests), null,
            "Reads of the two-tier cache, by cache (canon, worlds, llm).");
        meter.CreateObservableCounter("loom_cache_loads", () => Observe(_loads), null,
            "Reads that missed both tiers and went to the source (storage, a grain, the LLM), by cache.");
        meter.CreateObservableCounter("loom_cache_distributed_reads", () => _distributed.Select(kv => new Measurement<long>(kv.Value,
                new KeyValuePair<string, object?>("cache", kv.Key.Cache), new KeyValuePair<string, object?>("result", kv.Key.Result))),
            null, "Reads of the Redis tier (first-tier misses), by cache and result (hit or miss).");
    }

    public void Request(string cache) => _requests.AddOrUpdate(cache, 1, static (_, n) => n + 1);

    public void Load(string cache) => _loads.AddOrUpdate(cache, 1, static (_, n) => n + 1);

    public void Distributed(string cache, bool hit) =>
        _distributed.AddOrUpdate((cache, hit ? "hit" : "miss"), 1, static (_, n) => n + 1);

    /// <summary>Totals so far (tests and the load runner's report read them without a scrape).</summary>
    public (long Requests, long Loads, long DistributedHits, long DistributedMisses) Totals(string cache) =>
        (_requests.GetValueOrDefault(cache), _loads.GetValueOrDefault(cache),
            _distributed.GetValueOrDefault((cache, "hit")), _distributed.GetValueOrDefault((cache, "miss")));

    private static IEnumerable<Measurement<long>> Observe(ConcurrentDictionary<string, long> counts) =>
        counts.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("cache", kv.Key)));
}
