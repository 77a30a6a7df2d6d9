using System.Text.Json;
using System.Text.Json.Serialization;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Gateway.Limits;
using Loom.Silo.Hosting;
using Orleans.Configuration;

namespace Loom.Gateway.Hosting;

public static class GatewayHostingExtensions
{
    /// <summary>Embedded mode co-hosts a silo in this process; redis mode is a pure Orleans client of the cluster.</summary>
    public static WebApplicationBuilder AddLoomGateway(this WebApplicationBuilder builder)
    {
        var cluster = builder.AddLoomHostDefaults(c => c.Mode == ClusterMode.Embedded ? "loom" : "loom-gateway");
        if (cluster.Mode == ClusterMode.Embedded)
        {
            builder.AddLoomSilo();
        }
        else
        {
            // Start Kestrel alongside the client so /healthz answers while the first connection is retried.
            builder.Services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
            builder.Services.AddLoomCaches(builder.Configuration, singleProcess: false);
            builder.Services.AddSingleton<ClusterConnection>();
            builder.Services.AddSingleton<IClientConnectionRetryFilter>(sp => sp.GetRequiredService<ClusterConnection>());
            builder.Services.AddSingleton<ILifecycleParticipant<IClusterClientLifecycle>>(sp => sp.GetRequiredService<ClusterConnection>());
            builder.UseOrleansClient(client =>
            {
                client.UseLoomCluster(cluster);
                // Bounds every call through the gateway (503 + Retry-After after it); WaitForTurn carries its own longer
                // [ResponseTimeout] for ?wait=true.
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(cluster.CallDeadlineSeconds));
                client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(cluster.GatewayListRefreshSeconds));
            });
        }

        // A submission's deadline is the deadline of the call that carries it: the client's (redis mode) or the co-hosted
        // silo's (embedded, where Loom:Cluster:CallDeadlineSeconds bounds nothing).
        var callDeadline = cluster.Mode == ClusterMode.Embedded ? SiloHostingExtensions.CallDeadline : TimeSpan.FromSeconds(cluster.CallDeadlineSeconds);
        builder.Services.AddSingleton(new Endpoints.SubmitDeadline(callDeadline));
        ListenGuard.EnsureAuthForConfiguredAddresses(builder.Configuration);
        builder.Services.AddLoomAuth(builder.Configuration);
        builder.Services.AddLoomRateLimits(builder.Configuration);

        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        });
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddLoomProblems();
        builder.Services.AddSingleton<Loom.Worlds.WorldCatalogReader>();
        builder.Services.AddSingleton<Events.SessionFeeds>(); // one event subscription per session in this process
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<BearerSecuritySchemeTransformer>());
        builder.AddLoomTransport();
        return builder;
    }
}
