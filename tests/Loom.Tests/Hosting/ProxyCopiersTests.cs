using Loom.Security;
using Loom.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Serialization.Cloning;

namespace Loom.Tests.Hosting;

/// <summary>The copiers a grain reference's proxy asks for are registered once and still copy deeply.</summary>
public sealed class ProxyCopiersTests : IDisposable
{
    // A second call (silo and client on one host) adds nothing.
    private readonly IHost _client = UnstartedClient(services => services.AddLoomProxyCopiers().AddLoomProxyCopiers());

    /// <summary>An Orleans client host, built and never started: enough to resolve its services and build references.</summary>
    internal static IHost UnstartedClient(Action<IServiceCollection> register) => Host.CreateDefaultBuilder()
        .UseOrleansClient(client =>
        {
            client.UseLocalhostClustering();
            register(client.Services);
        })
        .Build();

    public void Dispose() => _client.Dispose();

    private static Type CopierOf<T>() => ProxyCopiers.GeneratedCopiers().Single(t => typeof(IDeepCopier<T>).IsAssignableFrom(t));

    [Fact]
    public void The_session_grains_argument_copiers_are_found_in_our_assemblies()
    {
        var found = ProxyCopiers.GeneratedCopiers().ToList();
        Assert.Contains(found, t => typeof(IDeepCopier<SessionSpec>).IsAssignableFrom(t));
        Assert.Contains(found, t => typeof(IDeepCopier<Caller>).IsAssignableFrom(t));
        Assert.All(found, t => Assert.StartsWith("OrleansCodeGen", t.Namespace));
    }

    [Fact]
    public void Each_copier_is_registered_once_and_resolved_as_one_instance()
    {
        var copier = CopierOf<SessionSpec>();
        var services = new ServiceCollection().AddLoomProxyCopiers().AddLoomProxyCopiers();
        Assert.Single(services, d => d.ServiceType == copier);
        Assert.Same(_client.Services.GetService(copier), _client.Services.GetService(copier));
        Assert.NotNull(_client.Services.GetService(copier));
    }

    [Fact]
    public void A_shared_copier_still_copies_deeply()
    {
        var copier = (IDeepCopier<SessionSpec>)_client.Services.GetRequiredService(CopierOf<SessionSpec>());
        var spec = new SessionSpec { OwnerId = "o", WorldId = "w", Caller = new Caller { OwnerId = "o", Roles = ["player"] } };

        using var context = _client.Services.GetRequiredService<CopyContextPool>().GetContext();
        var copy = copier.DeepCopy(spec, context);

        Assert.Equal(spec.OwnerId, copy.OwnerId);
        Assert.NotSame(spec, copy);
        Assert.NotSame(spec.Caller, copy.Caller);
        Assert.Equal(spec.Caller.Roles, copy.Caller!.Roles);
    }

    [Fact]
    public void A_grain_reference_is_built_with_the_registered_copiers()
    {
        var grains = _client.Services.GetRequiredService<IGrainFactory>();
        var first = grains.GetGrain<ISessionGrain>(GrainId.Create("session", "a"));
        var second = grains.GetGrain<ISessionGrain>(GrainId.Create("session", "b"));
        var registered = _client.Services.GetRequiredService(CopierOf<SessionSpec>());

        // The generated proxy keeps the copier it was given in a field: both references hold the registered instance.
        Assert.Same(registered, CopierField(first, registered.GetType()));
        Assert.Same(registered, CopierField(second, registered.GetType()));
        Assert.Equal("a", first.GetPrimaryKeyString());
    }

    private static object? CopierField(object proxy, Type copier) =>
        proxy.GetType().GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
            .Single(f => f.FieldType == copier).GetValue(proxy);
}
