using Loom.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Cluster;

public sealed class SessionIdleOptionsTests
{
    private static LoomClusterOptions From(string? minutes) => LoomClusterOptions.From(new ConfigurationBuilder()
        .AddInMemoryCollection(minutes is null ? [] : new Dictionary<string, string?> { ["Loom:Cluster:SessionIdleMinutes"] = minutes })
        .Build());

    private static LoomClusterOptions WithDirectory(string directory) => LoomClusterOptions.From(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Loom:Cluster:GrainDirectory"] = directory })
        .Build());

    [Fact]
    public void The_grain_directory_is_the_distributed_one_unless_legacy_is_named_and_a_typo_fails_start_up_naming_the_key()
    {
        Assert.Equal(GrainDirectoryKind.Distributed, From(null).GrainDirectory);
        Assert.Equal(GrainDirectoryKind.Legacy, WithDirectory("legacy").GrainDirectory);
        Assert.Equal(GrainDirectoryKind.Distributed, WithDirectory("Distributed").GrainDirectory);
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
