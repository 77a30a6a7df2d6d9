using Loom.Events;
using Loom.Sessions;

namespace Loom.Tests.Sessions;

/// <summary>The live-event replay buffer is bounded by age as well as count: a long-played session keeps minutes, not ~85 turns.</summary>
public sealed class SessionEventHubTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static SessionEvent Delta(string text) => new() { Id = "", Type = SessionEventTypes.TurnDelta, TurnId = "t1", Text = text };

    [Fact]
    public void Events_older_than_the_replay_age_are_dropped_and_a_reconnect_from_before_them_gets_a_snapshot()
    {
        var clock = new ManualClock();
        var hub = new SessionEventHub(clock);
        var first = hub.Publish(Delta("a"));
        hub.Publish(Delta("b"));
        clock.Now += SessionEventHub.ReplayAge - TimeSpan.FromSeconds(1);
        var third = hub.Publish(Delta("c"));

        // Within the age: a reconnect after the first event is replayed the two after it.
        Assert.Equal(["b", "c"], hub.Catchup(first.Id, () => []).Events.Select(e => e.Text));
        Assert.Equal(3, hub.Replayable);

        clock.Now += TimeSpan.FromSeconds(2);
        Assert.Equal(1, hub.Replayable); // "a" and "b" aged out; nothing had to be published for that
        var snapshot = new SessionEvent { Id = "", Type = SessionEventTypes.Heartbeat };
        Assert.Same(snapshot, Assert.Single(hub.Catchup(first.Id, () => [snapshot]).Events));
        // A watcher that saw the newest event is up to date, whatever has aged out.
        clock.Now += SessionEventHub.ReplayAge * 2;
        Assert.Empty(hub.Catchup(third.Id, () => [snapshot]).Events);
        Assert.Equal(0, hub.Replayable);
    }

    [Fact]
    public void The_count_bound_still_holds_within_the_age()
    {
        var hub = new SessionEventHub(new ManualClock());
        for (var i = 0; i < 1500; i++) hub.Publish(Delta(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(1024, hub.Replayable);
    }
}
