using Loom.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Cluster;

public sealed class SessionIdleOptionsTests
{
    private static LoomClusterOptions From(string? minutes) => LoomClusterOptions.From(new ConfigurationBuilder()
        .AddInMemoryCollection(minutes is null ? [] : new Dictionary<string, string?> { ["Loom:Cluster:SessionIdleMinutes"] = minutes })
        .Build());

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
