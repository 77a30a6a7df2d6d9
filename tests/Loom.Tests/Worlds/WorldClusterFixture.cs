using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Loom.Tests.Worlds;

/// <summary>One in-process silo with in-memory "loom" storage, shared by the world grain tests.</summary>
public sealed class WorldClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage("loom");
            silo.Services.AddLoomCaches(new ConfigurationBuilder().Build(), singleProcess: true);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WorldClusterCollection : ICollectionFixture<WorldClusterFixture>
{
    public const string Name = "world-cluster";
}
