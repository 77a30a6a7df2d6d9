using Microsoft.Extensions.Caching.Distributed;

namespace Loom.Caching;

/// <summary>
/// The second tier as HybridCache sees it, counting its reads by cache (the key's prefix) and result, so the
/// tiers' hit rates can be told apart: a request that never reaches this class was a first-tier hit.
/// </summary>
internal sealed class CountingDistributedCache(IDistributedCache inner, CacheMetrics metrics) : IDistributedCache
{
    public byte[]? Get(string key) => Count(key, inner.Get(key));

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Count(key, await inner.GetAsync(key, token));

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => inner.Set(key, value, options);

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        inner.SetAsync(key, value, options, token);

    public void Refresh(string key) => inner.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

    public void Remove(string key) => inner.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => inner.RemoveAsync(key, token);

    private byte[]? Count(string key, byte[]? value)
    {
        metrics.Distributed(CacheNames.Of(key), value is not null);
        return value;
    }
}
