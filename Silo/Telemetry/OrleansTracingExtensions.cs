using Orleans.Hosting;

namespace Loom.Silo.Telemetry;

/// <summary>
/// Orleans only carries the caller's trace context into grain calls when activity propagation is on; without it a
/// turn's trace stops at the gateway. Cheap when no tracer listens, so it is always enabled.
/// </summary>
public static class OrleansTracingExtensions
{
    public static ISiloBuilder AddLoomTracing(this ISiloBuilder silo) => silo.AddActivityPropagation();

    public static IClientBuilder AddLoomTracing(this IClientBuilder client) => client.AddActivityPropagation();
}
