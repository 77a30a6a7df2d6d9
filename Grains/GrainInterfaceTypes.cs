using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.Serialization.TypeSystem;

namespace Loom;

/// <summary>
/// Makes <c>GetGrain</c> skip a reflection walk. Orleans 10.4's <see cref="GrainInterfaceTypeResolver"/> names a grain
/// interface anew on every call — custom attributes read by reflection, then its naming convention — which was ~3 µs a
/// reference and 3.5 % of a session create's CPU (docs/performance.md, session 25). This provider is asked first and
/// answers from a cache, filled once per interface by a resolver over Orleans' own providers: the same name Orleans
/// would give, computed the same way.
/// </summary>
public sealed class GrainInterfaceTypes(IServiceProvider services) : IGrainInterfaceTypeProvider
{
    private readonly ConcurrentDictionary<Type, GrainInterfaceType> _known = new();
    private GrainInterfaceTypeResolver? _orleans;

    public bool TryGetGrainInterfaceType(Type type, out GrainInterfaceType grainInterfaceType)
    {
        grainInterfaceType = _known.GetOrAdd(type, static (t, self) => self.Orleans().GetGrainInterfaceType(t), this);
        return true;
    }

    /// <summary>Built on first use: the providers are resolved then, so this one (a provider itself) is not among its
    /// own dependencies.</summary>
    private GrainInterfaceTypeResolver Orleans() => _orleans ??= new GrainInterfaceTypeResolver(
        services.GetServices<IGrainInterfaceTypeProvider>().Where(p => p != this), services.GetRequiredService<TypeConverter>());
}

public static class GrainInterfaceTypesExtensions
{
    /// <summary>Registers <see cref="GrainInterfaceTypes"/> first of all services, so it is the first interface type
    /// provider whenever Orleans' own are added; a second call adds nothing.</summary>
    public static IServiceCollection AddLoomGrainInterfaceTypes(this IServiceCollection services)
    {
        if (services.Any(d => d.ImplementationType == typeof(GrainInterfaceTypes))) return services;
        services.Insert(0, ServiceDescriptor.Singleton<IGrainInterfaceTypeProvider, GrainInterfaceTypes>());
        return services;
    }
}
