using System.Net;
using Loom.Silo.Health;
using Loom.Silo.Telemetry;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Loom.Silo.Hosting;

/// <summary>
/// One way to wire a LOOM process to its cluster, shared by the silo (alone, or co-hosted in the gateway) and the
/// gateway's Orleans client: the <c>Loom:Cluster</c> options read and validated once per host, cluster identity,
/// membership (localhost in embedded mode, Redis otherwise), trace propagation, the readiness check and telemetry.
/// </summary>
public static class LoomHostDefaults
{
    /// <summary>
    /// The host's cluster options (read once: a later call, e.g. the co-hosted silo's, gets the same instance), with the
    /// readiness check and telemetry under <paramref name="serviceName"/> registered on the first call.
    /// </summary>
    public static LoomClusterOptions AddLoomHostDefaults(this IHostApplicationBuilder builder, string serviceName) =>
        builder.AddLoomHostDefaults(_ => serviceName);

    /// <summary>As above, the process named after its cluster options (e.g. a gateway: co-hosting a silo or a client).</summary>
    public static LoomClusterOptions AddLoomHostDefaults(this IHostApplicationBuilder builder, Func<LoomClusterOptions, string> serviceName)
    {
        if (builder.Properties.TryGetValue(typeof(LoomClusterOptions), out var known)) return (LoomClusterOptions)known;
        var cluster = LoomClusterOptions.From(builder.Configuration);
        builder.Properties[typeof(LoomClusterOptions)] = cluster;
        builder.Services.AddSingleton(cluster);
        builder.Services.AddHealthChecks().AddCheck<ClusterReadyCheck>("cluster", tags: ["ready"]);
        builder.AddLoomTelemetry(serviceName(cluster));
        return cluster;
    }

    /// <summary>A silo's identity, endpoints, membership and tracing; grain references without per-proxy reflection.</summary>
    public static ISiloBuilder UseLoomCluster(this ISiloBuilder silo, LoomClusterOptions cluster)
    {
        silo.Configure<ClusterOptions>(o => Identify(o, cluster));
        silo.Services.AddLoomProxyCopiers().AddLoomGrainInterfaceTypes();
        if (!string.IsNullOrWhiteSpace(cluster.SiloName)) silo.Configure<SiloOptions>(o => o.SiloName = cluster.SiloName);
        silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = cluster.DirectoryCacheSize);
        if (cluster.Directory == GrainDirectoryKind.Distributed)
        {
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10, the default from Orleans 11 on
            silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        }
        if (cluster.Mode == ClusterMode.Embedded)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
        }
        else
        {
            var advertised = string.IsNullOrWhiteSpace(cluster.AdvertisedAddress) ? LocalAddress() : IPAddress.Parse(cluster.AdvertisedAddress);
            silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
            silo.UseRedisClustering(o => o.ConfigurationOptions = Redis(cluster));
            silo.Services.AddSingleton<IStartupCheck>(new ClusterRedisCheck(cluster));
            if (cluster.MembershipCheckSeconds > 0)
            {
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, MembershipTableRepair>();
            }
        }
        return silo.AddLoomTracing();
    }

    /// <summary>A client's identity, membership and tracing (redis mode: an embedded gateway co-hosts its silo instead).</summary>
    public static IClientBuilder UseLoomCluster(this IClientBuilder client, LoomClusterOptions cluster)
    {
        client.Configure<ClusterOptions>(o => Identify(o, cluster));
        client.Services.AddLoomProxyCopiers().AddLoomGrainInterfaceTypes();
        client.UseRedisClustering(o => o.ConfigurationOptions = Redis(cluster));
        return client.AddLoomTracing();
    }

    private static void Identify(ClusterOptions options, LoomClusterOptions cluster)
    {
        options.ClusterId = cluster.ClusterId;
        options.ServiceId = cluster.ServiceId;
    }

    private static ConfigurationOptions Redis(LoomClusterOptions cluster) => ConfigurationOptions.Parse(cluster.RedisConnectionString!);

    /// <summary>First non-loopback IPv4 address: what a bare-metal silo advertises when nothing is configured.</summary>
    private static IPAddress LocalAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? IPAddress.Loopback;
}
