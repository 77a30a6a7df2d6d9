using System.Net;
using Loom.Silo.Health;
using Loom.Silo.Telemetry;
using Loom.Storage;
using Loom.Worlds;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Loom.Silo.Hosting;

/// <summary>Composes a LOOM silo: the same code runs co-hosted in the gateway (embedded) and alone (production).</summary>
public static class SiloHostingExtensions
{
    public static IHostApplicationBuilder AddLoomSilo(this IHostApplicationBuilder builder)
    {
        var cluster = LoomClusterOptions.From(builder.Configuration);
        builder.Services.AddSingleton(cluster);
        builder.Services.AddLoomEngine(builder.Configuration);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(cluster.ShutdownTimeoutSeconds));

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (!string.IsNullOrWhiteSpace(cluster.SiloName)) silo.Configure<SiloOptions>(o => o.SiloName = cluster.SiloName);

            if (cluster.Mode == ClusterMode.Embedded)
            {
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            }
            else
            {
                var advertised = string.IsNullOrWhiteSpace(cluster.AdvertisedAddress) ? LocalAddress() : IPAddress.Parse(cluster.AdvertisedAddress);
                silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.RedisConnectionString!));
            }

            silo.AddLoomStorage(builder.Configuration);
            silo.AddLoomTracing();
            silo.Configure<GrainCollectionOptions>(o =>
            {
                o.CollectionAge = TimeSpan.FromMinutes(15);
                // A session's room (its members, or nothing for a solo session) lives and goes with the session.
                o.ClassSpecificCollectionAge[typeof(Loom.Sessions.SessionGrain).FullName!] = TimeSpan.FromMinutes(cluster.SessionIdleMinutes);
                o.ClassSpecificCollectionAge[typeof(Loom.Multiplayer.SessionRoomGrain).FullName!] = TimeSpan.FromMinutes(cluster.SessionIdleMinutes);
            });
            // Leave grains time to flush when a silo stops (SIGTERM), within the host's shutdown budget.
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
        });

        builder.Services.AddHealthChecks().AddCheck<ClusterReadyCheck>("cluster", tags: ["ready"]);
        if (builder.Configuration.GetValue("Loom:SeedExampleWorlds", true))
        {
            builder.Services.AddHostedService<ExampleWorldSeeder>();
        }
        return builder;
    }

    /// <summary>First non-loopback IPv4 address: what a bare-metal silo advertises when nothing is configured.</summary>
    private static IPAddress LocalAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? IPAddress.Loopback;
}
