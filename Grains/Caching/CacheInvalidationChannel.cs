using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Loom.Caching;

/// <summary>
/// HybridCache has no backplane: a tag removed in one process stays in the other processes' first tier until it
/// expires. This carries each invalidated tag over a Redis channel to every silo and gateway, which drop it from their
/// own first tier. Without Redis it reaches only this process, which is enough when the cluster is one process.
/// While the subscription is down this process is deaf: it stops caching read models and drops those it holds (again
/// when it hears once more, since messages sent meanwhile are lost), so a missed message never leaves a stale list.
/// </summary>
public sealed partial class CacheInvalidationChannel(
    HybridCache cache, CacheRedis redis, CacheTopology topology, ILogger<CacheInvalidationChannel> logger) : IHostedService
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(5);
    private readonly string _origin = Guid.NewGuid().ToString("N");
    // Not disposed: it has no timer to release, and hosts may stop a service after the container disposed it.
    private readonly CancellationTokenSource _stopping = new();
    private volatile ISubscriber? _subscriber;
    private volatile bool _listening;

    /// <summary>This process hears every invalidation (it is the whole cluster, or it listens on Redis), so it may cache read models.</summary>
    public bool HearsEveryInvalidation => topology.SingleProcess || _listening;

    /// <summary>Raised when this process may have missed invalidations: its read models must go.</summary>
    public event Action? MayHaveMissed;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (redis.Connection is { } connection) _ = SubscribeAsync(connection);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _listening = false;
        if (_subscriber is { } subscriber)
        {
            try
            {
                await subscriber.UnsubscribeAsync(redis.Channel);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Stopping anyway; Redis drops the subscription with the connection.
            }
        }
    }

    public async Task PublishAsync(string tag)
    {
        if (_subscriber is not { } subscriber) return;
        try
        {
            await subscriber.PublishAsync(redis.Channel, $"{_origin}|{tag}");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The others are deaf too if Redis is down (they dropped their read models); this one already dropped it.
            LogPublishFailed(logger, ex, tag);
        }
    }

    /// <summary>Subscribes once Redis answers (retrying in the background), then follows the subscription's connection.</summary>
    private async Task SubscribeAsync(Task<IConnectionMultiplexer> connecting)
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                var connection = await connecting;
                var subscriber = connection.GetSubscriber();
                connection.ConnectionFailed += (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) Deafened(); };
                connection.ConnectionRestored += (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) Restored(); };
                await subscriber.SubscribeAsync(redis.Channel, (_, message) => OnMessage(message));
                _subscriber = subscriber;
                _listening = true;
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogSubscribeFailed(logger, ex, RetryEvery.TotalSeconds);
            }

            try
            {
                await Task.Delay(RetryEvery, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Deafened()
    {
        _listening = false;
        MayHaveMissed?.Invoke();
    }

    private void Restored()
    {
        MayHaveMissed?.Invoke();
        _listening = _subscriber is not null;
    }

    private void OnMessage(RedisValue message)
    {
        var text = (string?)message ?? "";
        var bar = text.IndexOf('|');
        if (bar <= 0 || text.AsSpan(0, bar).SequenceEqual(_origin)) return;
        _ = cache.RemoveByTagAsync(text[(bar + 1)..]).AsTask().ContinueWith(
            t => LogRemoveFailed(logger, t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidations: subscribing to Redis failed; read models are not cached here until it works (retry every {Seconds} s)")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception ex, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidation of {Tag} not sent to other processes")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string tag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidation from another process failed here")]
    private static partial void LogRemoveFailed(ILogger logger, Exception ex);
}

/// <summary>Whether this process is the whole cluster (embedded mode), set by the host that registers the caches.</summary>
public sealed record CacheTopology(bool SingleProcess);
