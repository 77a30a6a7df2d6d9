using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Loom.Silo.Health;

/// <summary>
/// Ready when this process has finished starting, is not shutting down and the cluster answers. On a silo "answers"
/// means this silo itself is Active in the membership table (the startup probe's "joined the cluster"); on a pure
/// client (the gateway) it means at least one silo is active. "Finished starting" includes the silo's start-up
/// warm-up, which runs after it joined: a rollout waits for it before it stops the next old silo.
/// </summary>
public sealed class ClusterReadyCheck(IGrainFactory grains, IHostApplicationLifetime lifetime, IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) return HealthCheckResult.Unhealthy("shutting down");
        if (!lifetime.ApplicationStarted.IsCancellationRequested) return HealthCheckResult.Unhealthy("starting");
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
            if (services.GetService<ILocalSiloDetails>() is { } local)
            {
                return hosts.TryGetValue(local.SiloAddress, out var status) && status == SiloStatus.Active
                    ? HealthCheckResult.Healthy($"this silo is active, {hosts.Count} active silo(s)")
                    : HealthCheckResult.Unhealthy("this silo has not joined the cluster");
            }
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("cluster unreachable: " + ex.GetType().Name);
        }
    }
}
