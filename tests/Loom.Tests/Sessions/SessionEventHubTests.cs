using Loom.Events;
using Loom.Turns;
using Loom.Sessions;

namespace Loom.Tests.Sessions;

/// <summary>
/// The live-event replay buffer is bounded by age as well as count (a long-played session keeps minutes, not ~85 turns),
/// and holds only what a reconnect can ask for: nothing for a session nobody watched within the age, no chunks of an
/// ended turn.
/// </summary>
public sealed class SessionEventHubTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static SessionEvent Delta(string text, string turnId = "t1") => new() { Id = "", Type = SessionEventTypes.TurnDelta, TurnId = turnId, Text = text };

    private static SessionEvent Ended(string turnId, string type = SessionEventTypes.TurnCompleted, TurnStatus status = TurnStatus.Completed) => new()
    {
        Id = "",
        Type = type,
        TurnId = turnId,
        Turn = new TurnView { TurnId = turnId, Seq = 1, Status = status, Input = "go", Narrative = "the whole text", CreatedAt = DateTime.UtcNow },
    };

    private static SessionEventHub Watched(ManualClock clock)
    {
        var hub = new SessionEventHub(clock);
        hub.Subscribe(null);
        return hub;
    }

    [Fact]
    public void Events_older_than_the_replay_age_are_dropped_and_a_reconnect_from_before_them_gets_a_snapshot()
    {
        var clock = new ManualClock();
        var hub = Watched(clock);
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
        var hub = Watched(new ManualClock());
        for (var i = 0; i < 1500; i++) hub.Publish(Delta(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(1024, hub.Replayable);
    }

    [Fact]
    public void A_session_nobody_watches_buffers_nothing_and_a_reconnect_gets_a_snapshot()
    {
        var hub = new SessionEventHub(new ManualClock());
        var first = hub.Publish(Delta("a"));
        hub.Publish(Delta("b"));
        hub.Publish(Ended("t1"));
        Assert.Equal(0, hub.Replayable);
        var snapshot = new SessionEvent { Id = "", Type = SessionEventTypes.Heartbeat };
        Assert.Same(snapshot, Assert.Single(hub.Catchup(first.Id, () => [snapshot]).Events));
    }

    [Fact]
    public void After_the_last_watcher_leaves_events_are_buffered_for_the_replay_age_then_no_longer()
    {
        var clock = new ManualClock();
        var hub = new SessionEventHub(clock);
        var (channel, _) = hub.Subscribe(null);
        var seen = hub.Publish(Delta("a"));
        hub.Unsubscribe(channel);

        // Dropped a moment ago: what it misses is kept for its reconnect.
        clock.Now += TimeSpan.FromSeconds(5);
        hub.Publish(Delta("b"));
        Assert.Equal(["b"], hub.Catchup(seen.Id, () => []).Events.Select(e => e.Text));

        // Gone for longer than the replay age: nothing it could ask for is left, and nothing new is kept.
        clock.Now += SessionEventHub.ReplayAge + TimeSpan.FromSeconds(1);
        hub.Publish(Delta("c"));
        Assert.Equal(0, hub.Replayable);
    }

    [Fact]
    public void A_session_is_listened_to_while_watched_and_for_the_replay_age_after_its_last_watcher()
    {
        var clock = new ManualClock();
        var hub = new SessionEventHub(clock);
        Assert.False(hub.Listened); // never watched: narration need not stream

        var (first, _) = hub.Subscribe(null);
        var (second, _) = hub.Subscribe(null);
        hub.Unsubscribe(first);
        clock.Now += SessionEventHub.ReplayAge * 2;
        Assert.True(hub.Listened); // one watcher left

        hub.Unsubscribe(second);
        clock.Now += SessionEventHub.ReplayAge - TimeSpan.FromSeconds(1);
        Assert.True(hub.Listened); // it may still resume
        clock.Now += TimeSpan.FromSeconds(2);
        Assert.False(hub.Listened);
    }

    [Theory]
    [InlineData(SessionEventTypes.TurnCompleted, TurnStatus.Completed)]
    [InlineData(SessionEventTypes.TurnFailed, TurnStatus.Failed)]
    public void A_turns_chunks_leave_the_buffer_when_it_ends_and_a_resume_from_among_them_gets_the_ending(string type, TurnStatus status)
    {
        var hub = Watched(new ManualClock());
        var queued = hub.Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnQueued, TurnId = "t1" });
        var chunk = hub.Publish(Delta("a"));
        hub.Publish(Delta("b"));
        Assert.Equal(3, hub.Replayable);

        hub.Publish(Ended("t1", type, status));
        Assert.Equal(2, hub.Replayable); // queued and the ending
        var resumed = hub.Catchup(chunk.Id, () => []).Events;
        Assert.Equal(type, Assert.Single(resumed).Type);
        Assert.Equal("the whole text", resumed[0].Turn!.Narrative);
        Assert.Equal([SessionEventTypes.TurnQueued, type], hub.Catchup((long.Parse(queued.Id, System.Globalization.CultureInfo.InvariantCulture) - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), () => []).Events.Select(e => e.Type));
    }

    [Fact]
    public void A_resume_from_among_a_long_turns_chunks_gets_its_ending_after_its_start_left_the_buffer()
    {
        var clock = new ManualClock();
        var hub = Watched(clock);
        hub.Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnStarted, TurnId = "t1" });
        clock.Now += TimeSpan.FromSeconds(30);
        var chunks = Enumerable.Range(0, 1500).Select(i => hub.Publish(Delta(i.ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToList();
        clock.Now += SessionEventHub.ReplayAge; // the start is older than the replay age now; later chunks are not
        var last = chunks[1400]; // still buffered when the turn ended
        hub.Publish(Ended("t1"));

        // The client saw that chunk, then its connection dropped: the ending (with the whole text) is all it needs.
        var resumed = hub.Catchup(last.Id, () => []).Events;
        Assert.Equal(SessionEventTypes.TurnCompleted, Assert.Single(resumed).Type);
        // One whose last event was among chunks the capacity bound pushed out missed those: a snapshot.
        Assert.Equal("snapshot", Assert.Single(hub.Catchup(chunks[10].Id, () => [new SessionEvent { Id = "", Type = "snapshot" }]).Events).Type);
    }

    [Fact]
    public void Another_turns_event_keeps_the_streaming_turns_chunks()
    {
        var hub = Watched(new ManualClock());
        hub.Publish(Delta("a", "t2"));
        hub.Publish(Ended("t1"));
        Assert.Equal(2, hub.Replayable);
    }
}
