using Loom.Silo.Health;
using Loom.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Loom.Tests.Hosting;

/// <summary>
/// A silo is ready only once its host has finished starting (its start-up warm-up runs after it joined the cluster), so
/// a rollout that waits for readiness never stops the next old silo while its successor is still cold.
/// </summary>
public sealed class ClusterReadyCheckTests : IClassFixture<LoomAppFactory>
{
    private readonly LoomAppFactory app;

    public ClusterReadyCheckTests(LoomAppFactory app) => this.app = app;

    [Fact]
    public async Task Not_ready_until_the_host_has_started_then_ready_once_it_has()
    {
        _ = app.CreateClient(); // starts the host (and its silo)
        var starting = new Lifetime(started: false);
        var check = ActivatorUtilities.CreateInstance<ClusterReadyCheck>(app.Services, (IHostApplicationLifetime)starting);

        var before = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal("starting", before.Description);

        var started = ActivatorUtilities.CreateInstance<ClusterReadyCheck>(app.Services, (IHostApplicationLifetime)new Lifetime(started: true));
        var after = await started.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, after.Status);
    }

    private sealed class Lifetime(bool started) : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted { get; } = new(started);
        public CancellationToken ApplicationStopping { get; } = CancellationToken.None;
        public CancellationToken ApplicationStopped { get; } = CancellationToken.None;
        public void StopApplication() { }
    }
}
