using System.Net;
using Loom.Sessions;

namespace Loom.Tests.Sessions;

/// <summary>Where a stopping silo hands its sessions: every other active silo; without the start-up warm-up not to a silo
/// that has only just started, while an older one is there.</summary>
public sealed class HandOffTargetsTests
{
    private static readonly DateTime Now = new(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);

    private static SiloAddress Silo(int port, TimeSpan age) =>
        SiloAddress.New(IPAddress.Loopback, port, (int)((Now - age) - new DateTime(2022, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds);

    private static ClusterMember Member(SiloAddress silo, SiloStatus status = SiloStatus.Active) => new(silo, status, $"silo-{silo.Endpoint.Port}");

    [Fact]
    public void A_rolling_upgrades_successor_that_just_joined_gets_no_moved_sessions()
    {
        var self = Silo(1, TimeSpan.FromHours(2));
        var peer = Silo(2, TimeSpan.FromHours(2));
        var older = Silo(3, TimeSpan.FromMinutes(3));
        var successor = Silo(4, TimeSpan.FromSeconds(15));

        var targets = HandOffTargets.Choose([Member(self), Member(successor), Member(older), Member(peer)], self, Now, leaveOutNewest: true);

        Assert.Equal([peer, older], targets); // oldest first, the 15-second-old silo left out
        Assert.Equal(Now - TimeSpan.FromSeconds(15), HandOffTargets.StartedAt(successor));
    }

    [Fact]
    public void A_young_silo_still_takes_sessions_when_it_is_the_only_other_one_all_are_young_or_it_has_settled()
    {
        var self = Silo(1, TimeSpan.FromHours(2));
        var successor = Silo(4, TimeSpan.FromSeconds(15));
        Assert.Equal([successor], HandOffTargets.Choose([Member(self), Member(successor)], self, Now, leaveOutNewest: true));

        // A cluster that has just started together is young everywhere: nothing is left out.
        var young = Silo(6, TimeSpan.FromSeconds(20));
        var younger = Silo(7, TimeSpan.FromSeconds(10));
        Assert.Equal([young, younger], HandOffTargets.Choose([Member(Silo(1, TimeSpan.FromSeconds(20))), Member(younger), Member(young)], Silo(1, TimeSpan.FromSeconds(20)), Now, leaveOutNewest: true));
        // Young too, but the successor joined well after them (a roll soon after the cluster started): it is left out.
        var successorOfYoung = Silo(8, TimeSpan.FromSeconds(5));
        var startedEarlier = Silo(9, TimeSpan.FromSeconds(45));
        Assert.Equal([startedEarlier], HandOffTargets.Choose([Member(startedEarlier), Member(successorOfYoung)], Silo(1, TimeSpan.FromSeconds(45)), Now, leaveOutNewest: true));

        var peer = Silo(2, TimeSpan.FromHours(2));
        var settled = Silo(5, HandOffTargets.Warming + TimeSpan.FromSeconds(5));
        Assert.Equal([peer, settled], HandOffTargets.Choose([Member(self), Member(peer), Member(settled)], self, Now, leaveOutNewest: true));
    }

    [Fact]
    public void Warmed_silos_take_moved_sessions_from_the_moment_they_are_active()
    {
        var self = Silo(1, TimeSpan.FromHours(2));
        var peer = Silo(2, TimeSpan.FromHours(2));
        var successor = Silo(4, TimeSpan.FromSeconds(15));

        Assert.Equal([peer, successor], HandOffTargets.Choose([Member(self), Member(successor), Member(peer)], self, Now, leaveOutNewest: false));
        Assert.Equal([peer], HandOffTargets.Choose([Member(self), Member(successor), Member(peer)], self, Now, leaveOutNewest: true));
    }

    [Fact]
    public void Only_other_active_silos_are_targets()
    {
        var self = Silo(1, TimeSpan.FromHours(2));
        var joining = Silo(2, TimeSpan.FromHours(1));
        var leaving = Silo(3, TimeSpan.FromHours(1));
        var dead = Silo(4, TimeSpan.FromHours(1));

        Assert.Empty(HandOffTargets.Choose(
            [Member(self), Member(joining, SiloStatus.Joining), Member(leaving, SiloStatus.ShuttingDown), Member(dead, SiloStatus.Dead)], self, Now, leaveOutNewest: false));
    }
}
