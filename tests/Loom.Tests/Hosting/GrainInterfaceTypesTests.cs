using Loom.Multiplayer;
using Loom.Sessions;
using Loom.Tests.Api;
using Loom.Worlds;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Metadata;
using Orleans.Serialization.TypeSystem;

namespace Loom.Tests.Hosting;

/// <summary>Grain interface names come from the cache, first among the providers, and are the names Orleans gives.</summary>
public sealed class GrainInterfaceTypesTests : IDisposable
{
    // A second call (silo and client on one host) adds nothing.
    private readonly IHost _client = ProxyCopiersTests.UnstartedClient(services => services.AddLoomGrainInterfaceTypes().AddLoomGrainInterfaceTypes());

    public void Dispose() => _client.Dispose();

    /// <summary>Every grain interface of the contracts, and one of Orleans' own.</summary>
    private static IEnumerable<Type> GrainInterfaces() =>
        typeof(ISessionGrain).Assembly.GetExportedTypes()
            .Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t) && !t.ContainsGenericParameters)
            .Append(typeof(IManagementGrain));

    [Fact]
    public void The_cache_is_asked_first_and_registered_once()
    {
        var providers = _client.Services.GetServices<IGrainInterfaceTypeProvider>().ToList();
        Assert.IsType<GrainInterfaceTypes>(providers[0]);
        Assert.Single(providers, p => p is GrainInterfaceTypes);
        Assert.True(providers.Count > 1, "Orleans' own providers are still there, behind the cache");
    }

    [Fact]
    public void Each_interface_gets_the_name_Orleans_gives_it_and_keeps_it()
    {
        var withCache = _client.Services.GetRequiredService<GrainInterfaceTypeResolver>();
        var orleansOnly = new GrainInterfaceTypeResolver(
            _client.Services.GetServices<IGrainInterfaceTypeProvider>().Where(p => p is not GrainInterfaceTypes),
            _client.Services.GetRequiredService<TypeConverter>());
        var interfaces = GrainInterfaces().ToList();
        Assert.Contains(typeof(ISessionRoomGrain), interfaces);

        foreach (var type in interfaces)
        {
            var expected = orleansOnly.GetGrainInterfaceType(type);
            Assert.Equal(expected, withCache.GetGrainInterfaceType(type));
            Assert.Equal(expected, withCache.GetGrainInterfaceType(type)); // the second answer comes from the cache
        }
    }

    [Fact]
    public async Task A_cluster_wired_by_UseLoomCluster_asks_the_cache_first_and_its_grains_answer()
    {
        await using var app = new LoomAppFactory();
        var providers = app.Services.GetServices<IGrainInterfaceTypeProvider>().ToList();
        Assert.IsType<GrainInterfaceTypes>(providers[0]);
        Assert.Single(providers, p => p is GrainInterfaceTypes);

        var world = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IWorldGrain>("ember-vale");
        var info = await world.GetInfo(new Loom.Security.Caller { OwnerId = "anyone" });
        Assert.Equal("ember-vale", info?.WorldId);
    }
}
