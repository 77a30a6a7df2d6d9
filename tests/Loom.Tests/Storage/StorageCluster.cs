using Loom.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Loom.Tests.Storage;

/// <summary>A one-silo in-process cluster wired with <see cref="StorageSiloBuilderExtensions.AddLoomStorage"/>.</summary>
public sealed class StorageCluster : IAsyncDisposable
{
    /// <summary>A second provider on the same database that deletes rows on clear (DeleteStorageKey).</summary>
    public const string DeletingProvider = "loom-delete";

    private StorageCluster(InProcessTestCluster cluster) => Cluster = cluster;

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    public IServiceProvider Services => Cluster.GetSiloServiceProvider(Cluster.Silos[0].SiloAddress);

    public IGrainStorage Storage(string name = StorageSiloBuilderExtensions.ProviderName) =>
        Services.GetRequiredKeyedService<IGrainStorage>(name);

    public static async Task<StorageCluster> StartAsync(IConfiguration configuration, string serviceId)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddLoomStorage(configuration);
            silo.Services.AddLoomCaches(configuration, singleProcess: true);
            silo.AddAdoNetGrainStorage(DeletingProvider, o => o.Configure<Serializer>((storage, serializer) =>
            {
                var database = StorageDatabase.From(configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new());
                storage.Invariant = database.Invariant;
                storage.ConnectionString = database.ConnectionString;
                storage.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
                storage.DeleteStateOnClear = true;
            }));
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return new StorageCluster(cluster);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
