using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;

namespace Loom.Caching;

/// <summary>
/// LOOM's two cache tiers: HybridCache's in-process tier over Redis (<c>Loom:Cache:Redis</c>), with its stampede
/// protection (one load per key and process however many ask at once), counted by <see cref="CacheMetrics"/>.
/// Two kinds of entry: immutable values (a published canon version, an LLM answer), kept until evicted; and read
/// models, tagged and dropped everywhere by <see cref="InvalidateAsync"/>. A read model is cached only where every
/// process that may hold it hears the invalidation (one process, or Redis's channel); otherwise it is read from its
/// source each time, so a cache never makes a caller see an older state than the one they wrote.
/// </summary>
public sealed class LoomCache
{
    private static readonly HybridCacheEntryOptions ReadOnly = new()
    {
        Flags = HybridCacheEntryFlags.DisableUnderlyingData | HybridCacheEntryFlags.DisableLocalCacheWrite
            | HybridCacheEntryFlags.DisableDistributedCacheWrite,
    };

    private readonly HybridCache _cache;
    private readonly CacheMetrics _metrics;
    private readonly CacheInvalidationChannel _channel;
    private readonly HybridCacheEntryOptions _immutable;
    private readonly HybridCacheEntryOptions _readModel;
    private readonly ConcurrentDictionary<string, byte> _readModelTags = new(StringComparer.Ordinal);

    public LoomCache(HybridCache cache, CacheMetrics metrics, CacheInvalidationChannel channel, IOptions<LoomCacheOptions> options)
    {
        _cache = cache;
        _metrics = metrics;
        _channel = channel;
        _immutable = new()
        {
            Expiration = TimeSpan.FromHours(options.Value.DistributedHours),
            LocalCacheExpiration = TimeSpan.FromMinutes(options.Value.LocalMinutes),
        };
        _readModel = new()
        {
            Expiration = TimeSpan.FromSeconds(options.Value.ReadModelSeconds),
            LocalCacheExpiration = TimeSpan.FromSeconds(options.Value.ReadModelSeconds),
        };
        // A process that may have missed invalidations drops every read model it holds.
        channel.MayHaveMissed += () =>
        {
            foreach (var tag in _readModelTags.Keys) _ = cache.RemoveByTagAsync(tag).AsTask();
        };
    }

    /// <summary>An immutable value: from either tier, else loaded once (per key and process) and kept.</summary>
    public ValueTask<T> GetImmutableAsync<TState, T>(string name, string key, TState state,
        Func<TState, CancellationToken, ValueTask<T>> load, CancellationToken cancellationToken = default) =>
        GetAsync(name, key, state, load, _immutable, tags: null, cancellationToken);

    /// <summary>A read model under <paramref name="tag"/>: cached while no writer has invalidated the tag.</summary>
    public ValueTask<T> GetReadModelAsync<TState, T>(string name, string key, string tag, TState state,
        Func<TState, CancellationToken, ValueTask<T>> load, CancellationToken cancellationToken = default) =>
        Listening(tag) ? GetAsync(name, key, state, load, _readModel, [tag], cancellationToken) : LoadAsync(name, state, load, cancellationToken);

    /// <summary>An immutable value if either tier has it (nothing is loaded or written on a miss).</summary>
    public async ValueTask<T?> TryGetAsync<T>(string name, string key, CancellationToken cancellationToken = default) where T : class
    {
        _metrics.Request(name);
        var value = await _cache.GetOrCreateAsync<T?>(Key(name, key), static _ => ValueTask.FromResult<T?>(null), ReadOnly,
            cancellationToken: cancellationToken);
        if (value is null) _metrics.Load(name);
        return value;
    }

    /// <summary>Stores an immutable value in both tiers (after it was produced elsewhere, e.g. an LLM answer).</summary>
    public ValueTask SetImmutableAsync<T>(string name, string key, T value, CancellationToken cancellationToken = default) =>
        _cache.SetAsync(Key(name, key), value, _immutable, cancellationToken: cancellationToken);

    /// <summary>Drops every entry under <paramref name="tag"/> here, in Redis, and (through the channel) in every other process.</summary>
    public async Task InvalidateAsync(string tag)
    {
        await _cache.RemoveByTagAsync(tag);
        await _channel.PublishAsync(tag);
    }

    /// <summary>Drops every entry under <paramref name="tag"/> in this process only (it just asked for a change the writer will announce).</summary>
    public ValueTask DropHereAsync(string tag) => _cache.RemoveByTagAsync(tag);

    private ValueTask<T> GetAsync<TState, T>(string name, string key, TState state, Func<TState, CancellationToken, ValueTask<T>> load,
        HybridCacheEntryOptions entry, IEnumerable<string>? tags, CancellationToken cancellationToken)
    {
        _metrics.Request(name);
        return _cache.GetOrCreateAsync(Key(name, key), (state, load, metrics: _metrics, name), static (s, ct) =>
        {
            s.metrics.Load(s.name);
            return s.load(s.state, ct);
        }, entry, tags, cancellationToken);
    }

    /// <summary>Straight from the source: not through HybridCache, whose stampede protection would hand a caller a load
    /// that started before their own write.</summary>
    private ValueTask<T> LoadAsync<TState, T>(string name, TState state, Func<TState, CancellationToken, ValueTask<T>> load,
        CancellationToken cancellationToken)
    {
        _metrics.Request(name);
        _metrics.Load(name);
        return load(state, cancellationToken);
    }

    private bool Listening(string tag)
    {
        _readModelTags.TryAdd(tag, 0);
        return _channel.HearsEveryInvalidation;
    }

    private static string Key(string name, string key) => string.Concat(name, ":", key);
}
