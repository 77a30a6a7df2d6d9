using Loom.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Cluster;

public sealed class SessionIdleOptionsTests
{
    private static LoomClusterOptions From(string? minutes) => LoomClusterOptions.From(new ConfigurationBuilder()
        .AddInMemoryCollection(minutes is null ? [] : new Dictionary<string, string?> { ["Loom:Cluster:SessionIdleMinutes"] = minutes })
        .Build());

    /// <summary>Cluster options as configuration gives them (the Redis string is never dialled).</summary>
    internal static LoomClusterOptions WithDirectory(string? directory, string mode = "embedded") => LoomClusterOptions.From(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Loom:Cluster:Mode"] = mode,
            ["Loom:Cluster:RedisConnectionString"] = "127.0.0.1:6379",
            ["Loom:Cluster:GrainDirectory"] = directory,
        })
        .Build());

    [Fact]
    public void The_grain_directory_is_the_distributed_one_in_a_cluster_and_legacy_for_a_silo_of_its_own_unless_named()
    {
        Assert.Equal(GrainDirectoryKind.Legacy, From(null).Directory);
        Assert.Equal(GrainDirectoryKind.Legacy, WithDirectory(null).Directory);
        Assert.Equal(GrainDirectoryKind.Distributed, WithDirectory(null, mode: "redis").Directory);
        Assert.Equal(GrainDirectoryKind.Distributed, WithDirectory("Distributed").Directory);
        Assert.Equal(GrainDirectoryKind.Legacy, WithDirectory("legacy", mode: "redis").Directory);
    }

    [Fact]
    public void A_typo_in_the_grain_directory_fails_start_up_naming_the_key()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => WithDirectory("consistent"));
        Assert.Contains("Loom:Cluster:GrainDirectory", refused.Message);
    }

    [Fact]
    public void Sessions_idle_five_minutes_by_default_and_the_age_must_exceed_Orleans_collection_quantum()
    {
        Assert.Equal(5, From(null).SessionIdleMinutes);
        Assert.Equal(2, From("2").SessionIdleMinutes);
        // One minute equals Orleans' collection quantum, which the silo would refuse with an unhandled error at start.
        var refused = Assert.Throws<OptionsValidationException>(() => From("1"));
        Assert.Contains("SessionIdleMinutes", refused.Message);
    }
}
