using System.Diagnostics;
using Loom.Caching;
using Loom.Tests.Fixtures;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Serialization;

namespace Loom.Tests.Caching;

/// <summary>
/// The two cache tiers between separate service containers (as separate processes would hold them) sharing one real
/// Redis: immutable entries travel through Redis, read models are dropped everywhere by one invalidation, a process
/// that cannot hear invalidations never caches read models, and a Redis that stops answering costs a source read,
/// not an error.
/// </summary>
public sealed class CacheTierTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private readonly List<ServiceProvider> _processes = [];

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            foreach (var hosted in process.GetServices<IHostedService>()) await hosted.StopAsync(CancellationToken.None);
            await process.DisposeAsync();
        }
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task An_immutable_entry_loaded_in_one_process_is_read_from_redis_in_another()
    {
        var silo1 = await ProcessAsync(redis: true);
        var silo2 = await ProcessAsync(redis: true);
        var loads = 0;
        ValueTask<Sample> Load() { Interlocked.Increment(ref loads); return ValueTask.FromResult(new Sample { Text = "canon v1", Version = 1 }); }

        var first = await Get(silo1, Load);
        await InRedisAsync("canon:w:1"); // HybridCache writes the second tier in the background
        var second = await Get(silo2, Load);
        var third = await Get(silo2, Load);

        Assert.Equal(1, loads);
        Assert.Equal("canon v1", second.Text);
        Assert.Same(second, third); // the first tier hands out the instance it holds (the type is immutable)
        Assert.Equal((1L, 1L, 0L, 1L), Totals(silo1)); // requests, loads, Redis hits, Redis misses: missed both tiers, loaded
        Assert.Equal((2L, 0L, 1L, 0L), Totals(silo2)); // one Redis hit, then one first-tier hit
        Assert.Equal("canon v1", first.Text);
    }

    [Fact]
    public async Task One_invalidation_drops_a_read_model_in_every_process()
    {
        var silo = await ProcessAsync(redis: true);
        var gateway = await ProcessAsync(redis: true);
        var version = 1;
        ValueTask<Sample> Source() => ValueTask.FromResult(new Sample { Text = "worlds", Version = Volatile.Read(ref version) });

        Assert.Equal(1, (await ReadModel(gateway, Source)).Version);
        Interlocked.Exchange(ref version, 2);
        Assert.Equal(1, (await ReadModel(gateway, Source)).Version); // cached: the source changed without telling anyone

        await silo.GetRequiredService<LoomCache>().InvalidateAsync("worlds");
        var seen = await WaitForAsync(async () => (await ReadModel(gateway, Source)).Version == 2, TimeSpan.FromSeconds(5));

        Assert.True(seen < TimeSpan.FromSeconds(5), "the gateway kept serving the invalidated list");
        Assert.Equal(2, gateway.GetRequiredService<CacheMetrics>().Totals(CacheNames.Worlds).Loads);
    }

    [Fact]
    public async Task A_process_that_cannot_hear_invalidations_reads_read_models_from_their_source()
    {
        var alone = await ProcessAsync(redis: false, singleProcess: false);
        var embedded = await ProcessAsync(redis: false, singleProcess: true);
        var version = 1;
        ValueTask<Sample> Source() => ValueTask.FromResult(new Sample { Text = "worlds", Version = Volatile.Read(ref version) });

        await ReadModel(alone, Source);
        await ReadModel(embedded, Source);
        Interlocked.Exchange(ref version, 2);

        Assert.Equal(2, (await ReadModel(alone, Source)).Version);
        Assert.Equal(1, (await ReadModel(embedded, Source)).Version);
        await embedded.GetRequiredService<LoomCache>().InvalidateAsync("worlds");
        Assert.Equal(2, (await ReadModel(embedded, Source)).Version);
    }

    [Fact]
    public async Task A_process_that_loses_the_channel_drops_its_read_models_and_caches_again_once_it_hears()
    {
        var gateway = await ProcessAsync(redis: true);
        var channel = gateway.GetRequiredService<CacheInvalidationChannel>();
        var version = 1;
        ValueTask<Sample> Source() => ValueTask.FromResult(new Sample { Text = "worlds", Version = Volatile.Read(ref version) });
        await ReadModel(gateway, Source);
        Interlocked.Exchange(ref version, 2);
        Assert.Equal(1, (await ReadModel(gateway, Source)).Version); // cached while it hears

        await _redis.StopAsync();
        var deaf = await WaitForAsync(() => Task.FromResult(!channel.HearsEveryInvalidation), TimeSpan.FromSeconds(10));
        Assert.True(deaf < TimeSpan.FromSeconds(10), "the process did not notice it lost the channel");
        Assert.Equal(2, (await ReadModel(gateway, Source)).Version); // what it held is gone, and nothing is cached meanwhile
        Interlocked.Exchange(ref version, 3);
        Assert.Equal(3, (await ReadModel(gateway, Source)).Version);

        await _redis.StartAsync();
        var hearing = await WaitForAsync(() => Task.FromResult(channel.HearsEveryInvalidation), TimeSpan.FromSeconds(20));
        Assert.True(hearing < TimeSpan.FromSeconds(20), "the process never heard the channel again");
        await ReadModel(gateway, Source);
        Interlocked.Exchange(ref version, 4);
        Assert.Equal(3, (await ReadModel(gateway, Source)).Version); // caching again
    }

    [Fact]
    public async Task A_stopped_redis_costs_a_source_read_not_an_error()
    {
        var silo = await ProcessAsync(redis: true);
        await _redis.StopAsync();
        // (Stopped after the process connected: the worse case, a connection that breaks rather than one never made.)
        var loads = 0;
        ValueTask<Sample> Load() { Interlocked.Increment(ref loads); return ValueTask.FromResult(new Sample { Text = "canon", Version = 7 }); }

        var clock = Stopwatch.StartNew();
        var value = await Get(silo, Load, key: "w:7");

        Assert.Equal(7, value.Version);
        Assert.Equal(1, loads);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        await _redis.StartAsync();
    }

    [Fact]
    public async Task A_world_list_travels_through_redis_between_gateways()
    {
        var gateway1 = await ProcessAsync(redis: true);
        var gateway2 = await ProcessAsync(redis: true);
        var world = new Loom.Worlds.WorldInfo { WorldId = "ember-vale", Title = "Ember Vale", LatestVersion = 3, Owner = "system" };
        var loads = 0;
        ValueTask<Loom.Worlds.WorldList> Load()
        {
            Interlocked.Increment(ref loads);
            return ValueTask.FromResult(new Loom.Worlds.WorldList { Items = [world] });
        }

        await gateway1.GetRequiredService<LoomCache>().GetReadModelAsync(CacheNames.Worlds, "owner:alice", "worlds", Load, static (l, _) => l());
        await InRedisAsync("worlds:owner:alice");
        var read = await gateway2.GetRequiredService<LoomCache>().GetReadModelAsync(CacheNames.Worlds, "owner:alice", "worlds", Load, static (l, _) => l());

        Assert.Equal(1, loads);
        var item = Assert.Single(read.Items);
        Assert.NotSame(world, item); // read from Redis, not handed over in memory
        Assert.Equal((world.WorldId, world.Title, world.LatestVersion, world.Owner), (item.WorldId, item.Title, item.LatestVersion, item.Owner));
    }

    [Theory]
    [InlineData("127.0.0.1:6379,notAnOption=1,password=hunter2-secret", "Keyword 'notAnOption' is not supported")]
    [InlineData("127.0.0.1:6379,connectTimeout=soon,password=hunter2-secret", "Keyword 'connectTimeout' requires an integer value")]
    // After the password the refused option may be a piece of it (a ',' in a password): its name is not repeated.
    [InlineData("127.0.0.1:6379,password=hunter2-secret,notAnOption=1", "an option after password= is not valid")]
    [InlineData("127.0.0.1:6379,password=hunter2,hunter2b=x", "an option after password= is not valid")]
    [InlineData(",password=hunter2-secret", "it names no server.")]
    public void A_malformed_redis_setting_fails_start_up_naming_the_key_not_the_password(string redis, string expected)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSerializer();
        services.AddLoomCaches(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Loom:Cache:Redis"] = redis }).Build(), false);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<LoomCacheOptions>>().Value);

        Assert.Contains("Loom:Cache:Redis is not a StackExchange.Redis connection string ('host:port,password=...'): ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
    }

    private async Task<ServiceProvider> ProcessAsync(bool redis, bool singleProcess = false)
    {
        var settings = new Dictionary<string, string?>();
        if (redis) settings["Loom:Cache:Redis"] = _redis.ConnectionString;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSerializer();
        services.AddLoomCaches(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), singleProcess);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        _processes.Add(provider);
        foreach (var hosted in provider.GetServices<IHostedService>()) await hosted.StartAsync(CancellationToken.None);
        if (redis)
        {
            // Connected and listening, as a process is a moment after start-up.
            var channel = provider.GetRequiredService<CacheInvalidationChannel>();
            Assert.True(await WaitForAsync(() => Task.FromResult(channel.HearsEveryInvalidation), TimeSpan.FromSeconds(10)) < TimeSpan.FromSeconds(10));
        }
        return provider;
    }

    private static ValueTask<Sample> Get(IServiceProvider process, Func<ValueTask<Sample>> load, string key = "w:1") =>
        process.GetRequiredService<LoomCache>().GetImmutableAsync(CacheNames.Canon, key, load, static (l, _) => l());

    private static ValueTask<Sample> ReadModel(IServiceProvider process, Func<ValueTask<Sample>> load) =>
        process.GetRequiredService<LoomCache>().GetReadModelAsync(CacheNames.Worlds, "owner:alice", "worlds", load, static (l, _) => l());

    private static (long Requests, long Loads, long DistributedHits, long DistributedMisses) Totals(IServiceProvider process) =>
        process.GetRequiredService<CacheMetrics>().Totals(CacheNames.Canon);

    private async Task InRedisAsync(string key) =>
        Assert.True(await WaitForAsync(async () => await _redis.SendAsync("EXISTS", CacheRedis.Prefix + key) == ":1", TimeSpan.FromSeconds(5))
            < TimeSpan.FromSeconds(5), $"{key} never reached Redis");

    private static async Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            if (await condition()) return clock.Elapsed;
            await Task.Delay(20);
        }
        return deadline;
    }
}

/// <summary>An immutable contract-like value (Orleans-serialized in Redis, one shared instance in the first tier).</summary>
[GenerateSerializer, Alias("loom.tests.CacheSample"), System.ComponentModel.ImmutableObject(true)]
public sealed record Sample
{
    [Id(0)] public string Text { get; init; } = "";
    [Id(1)] public int Version { get; init; }
}
