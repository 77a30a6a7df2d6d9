using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Loom.Caching;

/// <summary>
/// One Redis connection per process for the second tier and the invalidation channel (null without
/// <c>Loom:Cache:Redis</c>). Short timeouts: a cache that does not answer in a second is skipped, not waited for.
/// </summary>
public sealed class CacheRedis : IAsyncDisposable
{
    public const string Prefix = "loom-cache:";

    public CacheRedis(IOptions<LoomCacheOptions> options)
    {
        if (string.IsNullOrWhiteSpace(options.Value.Redis)) return;
        var configuration = ConfigurationOptions.Parse(options.Value.Redis);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
        configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 1000);
        configuration.SyncTimeout = Math.Min(configuration.SyncTimeout, 1000);
        Connection = ConnectAsync(configuration);
    }

    /// <summary>The connection (connecting in the background from start-up), or null when the tier is off.</summary>
    public Task<IConnectionMultiplexer>? Connection { get; }

    public RedisChannel Channel { get; } = RedisChannel.Literal(Prefix + "invalidate");

    public async ValueTask DisposeAsync()
    {
        // A connection still being made is waited for (at most its connect timeout), so it is closed too.
        if (Connection is { } connection) await (await connection).DisposeAsync();
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration) =>
        await ConnectionMultiplexer.ConnectAsync(configuration);
}
