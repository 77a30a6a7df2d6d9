using Orleans.Runtime;

namespace Loom.Sessions;

/// <summary>
/// Where a stopping silo's sessions go: the other active silos, except the newest while it is in its first minute and
/// started well after the others. In a rolling upgrade the newest silo is the successor that joined seconds ago and is still compiling
/// its code on the shared cores; a session moved there waited 3–4 s for its reload and first turn (FailoverTests.Step4b
/// traced it), where a silo that has run for a while serves it at once. New sessions still go there by placement.
/// </summary>
public static class HandOffTargets
{
    /// <summary>A session not played for this long is not moved: it is deactivated with the silo and reloads where next used.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(60);

    /// <summary>How long after its start a silo counts as just started.</summary>
    public static readonly TimeSpan Warming = TimeSpan.FromSeconds(60);

    /// <summary>The silos to spread over (round-robin), oldest first; empty when this silo is the only active one.</summary>
    public static IReadOnlyList<SiloAddress> Choose(IEnumerable<ClusterMember> members, SiloAddress self, DateTime utcNow)
    {
        var others = members
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self))
            .Select(m => m.SiloAddress)
            .OrderBy(s => s.Generation)
            .ToList();
        // Not when the others started with it (a cluster that has just started together is warming everywhere).
        var (oldest, newest) = (StartedAt(others.FirstOrDefault() ?? self), StartedAt(others.LastOrDefault() ?? self));
        if (others.Count >= 2 && utcNow - newest < Warming && newest - oldest >= Warming / 2) others.RemoveAt(others.Count - 1);
        return others;
    }

    /// <summary>When a silo started: Orleans' generation counts seconds since 2022-01-01 UTC at start-up.</summary>
    public static DateTime StartedAt(SiloAddress silo) =>
        new DateTime(2022, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(silo.Generation);
}
