using System.Collections.Concurrent;
using Loom.Security;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>
/// Keys in the database (<see cref="IApiKeyGrain"/>). Answers are cached for <see cref="AuthOptions.KeyCacheSeconds"/>
/// (concurrent requests share one look-up), so a revocation reaches every gateway within that time while a busy key
/// costs one grain call per gateway per period. Expiry is checked on every request, not only on a look-up.
/// </summary>
public sealed partial class DatabaseApiKeyLookup(
    IGrainFactory grains, IOptions<AuthOptions> options, TimeProvider clock, ILogger<DatabaseApiKeyLookup> logger) : IApiKeyLookup, IDisposable
{
    // Wrong keys are cached too (they cost a grain activation each); the size bound keeps guessing from growing memory.
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 100_000 });
    // Keys found usable here, with their last recorded use: bounded by the keys issued, never by guesses.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _touched = new(StringComparer.Ordinal);
    private readonly TimeSpan _ttl = TimeSpan.FromSeconds(options.Value.KeyCacheSeconds);

    /// <summary>Only <see cref="KeysCommand.NewKey"/> makes database keys: any other string is refused without a grain call.</summary>
    public bool MayHold(string apiKey) => ApiKeyShape.IsIssued(apiKey);

    public async ValueTask<Caller?> FindAsync(string keySha256Hex, CancellationToken cancellationToken)
    {
        var key = await CachedAsync("key:" + keySha256Hex, () => grains.GetGrain<IApiKeyGrain>(keySha256Hex).Get());
        var now = clock.GetUtcNow();
        if (key is null || !key.IsActiveAt(now)) return null;
        Touch(keySha256Hex, now);
        return new Caller { OwnerId = key.Owner, Roles = key.Roles };
    }

    public bool IsKnown(string keySha256Hex) => _touched.ContainsKey(keySha256Hex);

    public async ValueTask<bool> HasActiveKeysAsync(CancellationToken cancellationToken) =>
        await CachedAsync("any", () => grains.GetGrain<IApiKeyIndexGrain>(0).HasActiveKeys());

    public void Dispose() => _cache.Dispose();

    private Task<T> CachedAsync<T>(string cacheKey, Func<Task<T>> load)
    {
        if (_ttl <= TimeSpan.Zero) return load();
        if (_cache.TryGetValue(cacheKey, out Task<T>? cached) && cached is not null) return cached;
        var task = load();
        _cache.Set(cacheKey, task, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _ttl });
        // A failed look-up (cluster unreachable) is not an answer: the next request asks again.
        task.ContinueWith(_ => _cache.Remove(cacheKey), CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>lastUsedAt at most once a minute per key and gateway, one-way: never on the request's path.</summary>
    private void Touch(string keySha256Hex, DateTimeOffset now)
    {
        if (_touched.TryGetValue(keySha256Hex, out var last) && now - last < ApiKeyRules.TouchInterval) return;
        _touched[keySha256Hex] = now;
        try
        {
            _ = grains.GetGrain<IApiKeyGrain>(keySha256Hex).Touch(now);
        }
        catch (Exception ex)
        {
            LogTouchFailed(ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not record an API key's use ({Kind})")]
    private partial void LogTouchFailed(string kind);
}
