using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Loom.Caching;

/// <summary>
/// HybridCache has no backplane: a tag removed in one process stays in the other processes' first tier until it
/// expires. This carries each invalidated tag over a Redis channel to every silo and gateway, which drop it from their
/// own first tier. Without Redis it reaches only this process, which is enough when the cluster is one process.
/// </summary>
public sealed partial class CacheInvalidationChannel(
    HybridCache cache, CacheRedis redis, CacheTopology topology, ILogger<CacheInvalidationChannel> logger) : IHostedService
{
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private ISubscriber? _subscriber;

    /// <summary>True when this process hears every invalidation (it is the whole cluster, or it listens on Redis), so it may cache read models.</summary>
    public bool HearsEveryInvalidation => topology.SingleProcess || _subscriber is not null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (redis.Connection is not { } connection) return;
        try
        {
            var subscriber = (await connection).GetSubscriber();
            await subscriber.SubscribeAsync(redis.Channel, (_, message) => OnMessage(message));
            _subscriber = subscriber;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Read models are then read from their sources; immutable entries still use both tiers once Redis answers.
            LogSubscribeFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) =>
        _subscriber is { } subscriber ? subscriber.UnsubscribeAsync(redis.Channel) : Task.CompletedTask;

    public async Task PublishAsync(string tag)
    {
        if (_subscriber is not { } subscriber) return;
        try
        {
            await subscriber.PublishAsync(redis.Channel, $"{_origin}|{tag}");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Other processes then serve the entry until Loom:Cache:ReadModelSeconds; this one already dropped it.
            LogPublishFailed(logger, ex, tag);
        }
    }

    private void OnMessage(RedisValue message)
    {
        var text = (string?)message ?? "";
        var bar = text.IndexOf('|');
        if (bar <= 0 || text.AsSpan(0, bar).SequenceEqual(_origin)) return;
        _ = cache.RemoveByTagAsync(text[(bar + 1)..]).AsTask().ContinueWith(
            t => LogRemoveFailed(logger, t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidations: subscribing to Redis failed; read models are not cached in this process")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidation of {Tag} not sent to other processes")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string tag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidation from another process failed here")]
    private static partial void LogRemoveFailed(ILogger logger, Exception ex);
}

/// <summary>Whether this process is the whole cluster (embedded mode), set by the host that registers the caches.</summary>
public sealed record CacheTopology(bool SingleProcess);
