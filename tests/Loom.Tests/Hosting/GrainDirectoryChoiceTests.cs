using Loom.Silo.Hosting;
using Loom.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.GrainDirectory;

namespace Loom.Tests.Hosting;

/// <summary>
/// Which grain directory a silo wired by <c>UseLoomCluster</c> gets: Orleans registers the distributed directory as
/// the default keyed <see cref="IGrainDirectory"/>, and the legacy one is its built-in fallback with no such service.
/// The hosts are built and never started, so redis mode needs no Redis.
/// </summary>
public sealed class GrainDirectoryChoiceTests
{
    private static bool HasDistributedDirectory(string mode, string? directory)
    {
        var cluster = SessionIdleOptionsTests.WithDirectory(directory, mode);
        using var host = Host.CreateDefaultBuilder().UseOrleans(silo => silo.UseLoomCluster(cluster)).Build();
        return host.Services.GetRequiredService<IServiceProviderIsKeyedService>()
            .IsKeyedService(typeof(IGrainDirectory), GrainDirectoryAttribute.DEFAULT_GRAIN_DIRECTORY);
    }

    [Fact]
    public void An_embedded_silo_uses_the_legacy_directory_and_a_cluster_the_distributed_one()
    {
        Assert.False(HasDistributedDirectory("embedded", directory: null));
        Assert.True(HasDistributedDirectory("redis", directory: null));
    }

    [Fact]
    public void A_named_directory_wins_over_the_modes_default()
    {
        Assert.True(HasDistributedDirectory("embedded", directory: "distributed"));
        Assert.False(HasDistributedDirectory("redis", directory: "legacy"));
    }
}
