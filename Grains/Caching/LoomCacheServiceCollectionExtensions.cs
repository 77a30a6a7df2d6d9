using Loom.Caching;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class LoomCacheServiceCollectionExtensions
{
    private const string DistributedKey = "loom-cache";

    /// <summary>
    /// The two cache tiers (<c>Loom:Cache</c>, validated at start-up): HybridCache over a bounded in-process tier and,
    /// when <c>Loom:Cache:Redis</c> is set, Redis as the second tier and invalidation channel. Values use Orleans' codecs.
    /// <paramref name="singleProcess"/>: this process is the whole cluster (embedded), so its invalidations reach everyone.
    /// </summary>
    public static IServiceCollection AddLoomCaches(this IServiceCollection services, IConfiguration configuration, bool singleProcess)
    {
        if (services.Any(s => s.ServiceType == typeof(LoomCache))) return services;
        services.AddOptions<LoomCacheOptions>().Bind(configuration.GetSection(LoomCacheOptions.Section))
            .PostConfigure(o => o.Redis = RedisOf(o, configuration))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LoomCacheOptions>, LoomCacheOptionsValidator>());
        var options = configuration.GetSection(LoomCacheOptions.Section).Get<LoomCacheOptions>() ?? new LoomCacheOptions();
        options.Redis = RedisOf(options, configuration);

        services.AddMemoryCache();
        // HybridCache's first tier is the process's IMemoryCache; bound it (entries are sized by their serialized bytes).
        services.Configure<MemoryCacheOptions>(o => o.SizeLimit = options.LocalMegabytes * 1024L * 1024L);
        services.AddSingleton<CacheRedis>();
        services.AddSingleton(new CacheTopology(singleProcess));
        services.AddSingleton<CacheMetrics>();
        services.AddSingleton<CacheInvalidationChannel>();
        services.AddHostedService(sp => sp.GetRequiredService<CacheInvalidationChannel>());
        services.AddSingleton<LoomCache>();
        if (!string.IsNullOrWhiteSpace(options.Redis))
        {
            services.AddKeyedSingleton<IDistributedCache>(DistributedKey, (sp, _) =>
            {
                var redis = sp.GetRequiredService<CacheRedis>();
                var inner = new RedisCache(Options.Options.Create(new RedisCacheOptions
                {
                    InstanceName = CacheRedis.Prefix,
                    ConnectionMultiplexerFactory = () => redis.Connection!,
                }));
                return new CountingDistributedCache(inner, sp.GetRequiredService<CacheMetrics>());
            });
        }

        services.AddHybridCache(o =>
        {
            o.MaximumPayloadBytes = options.MaximumEntryMegabytes * 1024L * 1024L;
            o.MaximumKeyLength = 4096;
            // Keyed, so the second tier is Redis or nothing, never another IDistributedCache the process happens to hold.
            if (!string.IsNullOrWhiteSpace(options.Redis)) o.DistributedCacheServiceKey = DistributedKey;
        }).AddSerializerFactory<OrleansCacheSerializers>();
        return services;
    }

    /// <summary>Loom:Cache:Redis, else the LLM cache's former Loom:Llm:Cache:RedisConnectionString (still honoured).</summary>
    private static string? RedisOf(LoomCacheOptions options, IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(options.Redis) ? configuration["Loom:Llm:Cache:RedisConnectionString"] : options.Redis;
}
