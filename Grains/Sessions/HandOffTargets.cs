using Orleans.Runtime;

namespace Loom.Sessions;

/// <summary>
/// Where a stopping silo's sessions go: the other active silos. Silos that start without the start-up warm-up
/// (<c>Loom:Cluster:WarmUp</c> off) also leave out the newest while it is in its first minute and started well after the
/// others: in a rolling upgrade that is the successor that joined seconds ago and is still compiling its code on the
/// shared cores; a session moved there waited 3–4 s for its reload and first turn (FailoverTests.Step4b traced it).
/// With the warm-up (the default) a silo is warm before it reports ready, and leaving it out only piled the moved
/// sessions onto fewer silos (Step4b, three pairs: drain-phase p95 1.02 / 1.60 / 0.89 s with it left out against
/// 0.88 / 0.81 / 0.71 s with it included). New sessions go there by placement either way.
/// </summary>
public static class HandOffTargets
{
    /// <summary>A session not played for this long is not moved: it is deactivated with the silo and reloads where next used.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(60);

    /// <summary>How long after its start a silo counts as just started.</summary>
    public static readonly TimeSpan Warming = TimeSpan.FromSeconds(60);

    /// <summary>The silos to spread over (round-robin), oldest first; empty when this silo is the only active one.
    /// <paramref name="leaveOutNewest"/>: the silos do not warm up before they are ready (see the class summary).</summary>
    public static IReadOnlyList<SiloAddress> Choose(IEnumerable<ClusterMember> members, SiloAddress self, DateTime utcNow, bool leaveOutNewest)
    {
        var others = members
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self))
            .Select(m => m.SiloAddress)
            .OrderBy(s => s.Generation)
            .ToList();
        // Not when the others started with it (a cluster that has just started together is warming everywhere).
        var (oldest, newest) = (StartedAt(others.FirstOrDefault() ?? self), StartedAt(others.LastOrDefault() ?? self));
        if (leaveOutNewest && others.Count >= 2 && utcNow - newest < Warming && newest - oldest >= Warming / 2) others.RemoveAt(others.Count - 1);
        return others;
    }

    /// <summary>When a silo started: Orleans' generation counts seconds since 2022-01-01 UTC at start-up.</summary>
    public static DateTime StartedAt(SiloAddress silo) =>
        new DateTime(2022, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(silo.Generation);
}
