using Xunit;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("Loom.Tests.LongestFirstCollectionOrderer", "Loom.Tests")]

namespace Loom.Tests;

/// <summary>
/// xunit runs as many test collections at once as the machine has cores (two here) and starts them in this order. The
/// cluster failover suite is the longest by far (about eleven minutes of sequential steps against real processes);
/// started first it runs beside all the others instead of beginning when most of them are done (it began 6.8 minutes
/// into a 19-minute run). The rest keep xunit's order.
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    private static readonly string[] Longest = ["Loom.Tests.Cluster.FailoverTests"];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => Longest.Any(name => c.DisplayName.EndsWith(name, StringComparison.Ordinal)) ? 0 : 1);
}
