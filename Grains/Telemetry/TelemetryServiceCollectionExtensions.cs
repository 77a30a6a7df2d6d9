using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Loom.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>Registers the process-wide <see cref="LoomMetrics"/> and <see cref="StorageMetrics"/> (and the meter factory it needs). Idempotent.</summary>
    public static IServiceCollection AddLoomMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<LoomMetrics>();
        services.TryAddSingleton<StorageMetrics>();
        return services;
    }
}
