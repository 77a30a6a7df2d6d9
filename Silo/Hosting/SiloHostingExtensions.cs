using Loom.Storage;
using Orleans.Configuration;

namespace Loom.Silo.Hosting;

/// <summary>Composes a LOOM silo: the same code runs co-hosted in the gateway (embedded) and alone (production).</summary>
public static class SiloHostingExtensions
{
    /// <summary>How long a call made inside a silo (or by an embedded gateway through its co-hosted silo) may take.</summary>
    public static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The silo on the shared cluster wiring (<see cref="LoomHostDefaults"/>; a gateway that co-hosts it has already
    /// named the process), with the engine, storage, collection ages and the shutdown budget.
    /// </summary>
    public static IHostApplicationBuilder AddLoomSilo(this IHostApplicationBuilder builder)
    {
        var cluster = builder.AddLoomHostDefaults("loom-silo");
        builder.Services.AddLoomEngine(builder.Configuration);
        builder.Services.AddLoomCaches(builder.Configuration, singleProcess: cluster.Mode == ClusterMode.Embedded);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(cluster.ShutdownTimeoutSeconds));

        builder.UseOrleans(silo =>
        {
            silo.UseLoomCluster(cluster);
            silo.AddLoomStorage(builder.Configuration);
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, TokenizerWarmup>();
            if (cluster.WarmUp)
            {
                silo.Services.AddSingleton<EngineWarmup>();
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, GrainPathWarmup>();
            }
            // Only with the consistent directory: with the legacy one a session moved just before the silo holding its
            // directory entry leaves can end up with a second activation (seen in FailoverTests.Step4b).
            if (cluster.Directory == GrainDirectoryKind.Distributed)
            {
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
                    ActivatorUtilities.CreateInstance<Loom.Sessions.SessionHandOff>(sp, HandOffBudget(cluster), cluster.WarmUp));
            }
            silo.Configure<GrainCollectionOptions>(o =>
            {
                o.CollectionAge = TimeSpan.FromMinutes(15);
                // A session's room (its members, or nothing for a solo session) lives and goes with the session.
                o.ClassSpecificCollectionAge[typeof(Loom.Sessions.SessionGrain).FullName!] = TimeSpan.FromMinutes(cluster.SessionIdleMinutes);
                o.ClassSpecificCollectionAge[typeof(Loom.Multiplayer.SessionRoomGrain).FullName!] = TimeSpan.FromMinutes(cluster.SessionIdleMinutes);
                // A drain deactivates every grain at once; Orleans' 30 s default would let one stuck deactivation outlast
                // a shorter shutdown budget, so each gets half of it (5 to 60 s).
                o.DeactivationTimeout = DeactivationBudget(cluster);
            });
            // Leave grains time to flush when a silo stops (SIGTERM), within the host's shutdown budget.
            silo.Configure<SiloMessagingOptions>(o =>
            {
                o.ResponseTimeout = CallDeadline;
                // When a silo stops, its gateway tells connected gateways to send it nothing new, then waits this long
                // (Orleans' default: not at all) so the calls already sent through it are answered before its connections
                // close; a call cut off there is answered only by the caller's deadline (10-13 s turns in Step4b).
                o.ClientGatewayShutdownNotificationTimeout = GatewayNoticeBudget(cluster);
            });
        });

        if (cluster.IdleTrimDeactivations > 0)
        {
            builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<IdleMemoryTrim>(sp, cluster));
        }
        if (builder.Configuration.GetValue("Loom:SeedExampleWorlds", true))
        {
            builder.Services.AddHostedService<ExampleWorldSeeder>();
        }
        return builder;
    }

    /// <summary>A stopping silo's sessions finish their running turns and move within a quarter of the budget (2 to 30 s).</summary>
    private static TimeSpan HandOffBudget(LoomClusterOptions cluster) =>
        TimeSpan.FromSeconds(Math.Clamp(cluster.ShutdownTimeoutSeconds / 4.0, 2, 30));

    /// <summary>
    /// How long a stopping silo's gateway lets its clients move away: at most the hand-off's time, and 5 s. Embedded, its
    /// only client is in the same process and stops with it, so a stop does not wait.
    /// </summary>
    private static TimeSpan GatewayNoticeBudget(LoomClusterOptions cluster) => cluster.Mode == ClusterMode.Embedded
        ? TimeSpan.Zero
        : TimeSpan.FromSeconds(Math.Min(HandOffBudget(cluster).TotalSeconds, 5));

    private static TimeSpan DeactivationBudget(LoomClusterOptions cluster) =>
        TimeSpan.FromSeconds(Math.Clamp(cluster.ShutdownTimeoutSeconds / 2.0, 5, 60));
}
