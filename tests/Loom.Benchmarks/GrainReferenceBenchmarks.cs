using BenchmarkDotNet.Attributes;
using Loom.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Loom.Benchmarks;

/// <summary>
/// What one <c>GetGrain</c> costs (the gateway builds a session reference per request, a session a world reference per
/// create): Orleans' proxy as it comes, with our copiers registered once (<see cref="ProxyCopiers"/>), and with the
/// interface's name cached as well (<see cref="GrainInterfaceTypes"/>). The client is never started: building a
/// reference needs no connection.
/// </summary>
[MemoryDiagnoser]
public class GrainReferenceBenchmarks
{
    private IHost _plain = null!;
    private IHost _registered = null!;
    private IHost _cached = null!;
    private IGrainFactory _plainGrains = null!;
    private IGrainFactory _registeredGrains = null!;
    private IGrainFactory _cachedGrains = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _plain = Client(registerCopiers: false, cacheInterfaceTypes: false);
        _registered = Client(registerCopiers: true, cacheInterfaceTypes: false);
        _cached = Client(registerCopiers: true, cacheInterfaceTypes: true);
        _plainGrains = _plain.Services.GetRequiredService<IGrainFactory>();
        _registeredGrains = _registered.Services.GetRequiredService<IGrainFactory>();
        _cachedGrains = _cached.Services.GetRequiredService<IGrainFactory>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.Dispose();
        _registered.Dispose();
        _cached.Dispose();
    }

    [Benchmark(Baseline = true)]
    public ISessionGrain SessionReference() => _plainGrains.GetGrain<ISessionGrain>(Id());

    [Benchmark]
    public ISessionGrain SessionReferenceWithRegisteredCopiers() => _registeredGrains.GetGrain<ISessionGrain>(Id());

    [Benchmark]
    public ISessionGrain SessionReferenceWithCopiersAndInterfaceNames() => _cachedGrains.GetGrain<ISessionGrain>(Id());

    /// <summary>By grain id: a client that never connected has no cluster manifest to map the interface to its class.</summary>
    private GrainId Id() => GrainId.Create("session", "s-" + ++_next);

    private static IHost Client(bool registerCopiers, bool cacheInterfaceTypes) =>
        Host.CreateDefaultBuilder()
            .UseOrleansClient(client =>
            {
                client.UseLocalhostClustering();
                if (registerCopiers) client.Services.AddLoomProxyCopiers();
                if (cacheInterfaceTypes) client.Services.AddLoomGrainInterfaceTypes();
            })
            .Build();
}
