using Loom.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Serialization.Cloning;

namespace Loom;

/// <summary>
/// Makes a grain reference cheap to build. Each <c>GetGrain</c> builds a new proxy, and Orleans 10.4's generated proxy
/// constructor fetches a copier for every non-shallow argument type of the interface (twelve for ISessionGrain) through
/// <c>ActivatorUtilities.GetServiceOrCreateInstance</c>: a copier nobody registered is built anew by reflection each
/// time. That was 3.7 % of the gateway's CPU at L = 0 (two session references per turn) and 5 % of a session create
/// (docs/performance.md, session 24; GrainReferenceBenchmarks: 5.96 → 2.21 µs). Registered once here, every proxy gets
/// the same instances; the codec provider shares its copiers the same way, they hold nothing but other copiers.
/// </summary>
public static class ProxyCopiers
{
    /// <summary>Our assemblies with generated copiers: the contracts, and the engine's own persisted types.</summary>
    private static readonly Type[] Anchors = [typeof(ISessionGrain), typeof(SessionGrain)];

    public static IServiceCollection AddLoomProxyCopiers(this IServiceCollection services)
    {
        foreach (var type in GeneratedCopiers()) services.TryAddSingleton(type, sp => ActivatorUtilities.CreateInstance(sp, type));
        return services;
    }

    /// <summary>The source generator's copier classes (namespace OrleansCodeGen) in our assemblies.</summary>
    public static IEnumerable<Type> GeneratedCopiers() =>
        Anchors.Select(a => a.Assembly).Distinct()
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false }
                && t.Namespace?.StartsWith("OrleansCodeGen", StringComparison.Ordinal) == true
                && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDeepCopier<>)));
}
