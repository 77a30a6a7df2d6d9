using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Loom.Silo.Health;

/// <summary>Ready when the cluster answers (at least one active silo) and this process is not shutting down.</summary>
public sealed class ClusterReadyCheck(IGrainFactory grains, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) return HealthCheckResult.Unhealthy("shutting down");
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
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
