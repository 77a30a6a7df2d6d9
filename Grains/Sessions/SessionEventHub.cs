using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Loom.Events;
using Loom.Turns;

namespace Loom.Sessions;

/// <summary>
/// Fan-out of a session's live events to its watchers, with a bounded replay buffer for Last-Event-ID.
/// Ids are numeric and keep increasing across activations (they start from the activation's clock), so a
/// client can always tell "newer". Events are not durable: turns are, and a reconnecting page re-reads them.
/// Only what a reconnect can ask for is buffered: nothing while nobody has watched within <see cref="ReplayAge"/>
/// (a client's Last-Event-ID is from when it watched), and no narrative chunks of a turn that has ended (its
/// terminal event carries the whole text). Anything else buffered lives minutes: the GC copies it through both
/// young generations into gen2, where it dies (measured at 1,000 unwatched sessions, docs/performance.md).
/// </summary>
public sealed class SessionEventHub
{
    private const int ReplayCapacity = 1024;
    /// <summary>
    /// How long an event stays replayable. A dropped watcher reconnects within seconds; older ids get a snapshot. Without
    /// an age bound a long-played session kept its last 1,024 events (the last ~85 turns' views) for as long as it was
    /// active.
    /// </summary>
    public static readonly TimeSpan ReplayAge = TimeSpan.FromMinutes(2);
    private readonly TimeProvider _time;
    private readonly Queue<(SessionEvent Event, DateTimeOffset At, long Id)> _replay = new();
    private readonly List<Channel<SessionEvent>> _watchers = [];
    private long _next;
    /// <summary>
    /// The newest id a reconnect can no longer be replayed from: events up to it were dropped (by age, capacity, or while
    /// nobody watched) or came before this activation. A turn's chunks superseded by its terminal event do not count: the
    /// terminal event is still there and carries their text.
    /// </summary>
    private long _evictedUpTo;

    public SessionEventHub(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _next = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        _evictedUpTo = _next; // ids of earlier activations are not replayable here
    }
    /// <summary>When the last watcher left; MinValue while nobody has watched in this activation.</summary>
    private DateTimeOffset _lastWatched = DateTimeOffset.MinValue;
    /// <summary>Buffered chunks of the turn that is streaming (dropped when its terminal event comes).</summary>
    private string? _chunksOf;

    /// <summary>
    /// Someone watches, or watched within the replay age and may resume: live events reach a reader. Otherwise a turn's
    /// narration need not stream (its terminal event carries the whole text).
    /// </summary>
    public bool Listened => Listens(_time.GetUtcNow());

    private bool Listens(DateTimeOffset now) => _watchers.Count > 0 || now - _lastWatched <= ReplayAge;

    public SessionEvent Publish(SessionEvent draft)
    {
        var id = ++_next;
        var ev = draft with { Id = id.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var now = _time.GetUtcNow();
        Trim(now);
        if (Listens(now))
        {
            Buffer(ev, now, id);
        }
        else
        {
            // Unwatched for longer than the replay age: no reconnect can be served from what is left, nor from this event.
            _replay.Clear();
            _chunksOf = null;
            _evictedUpTo = id;
        }
        foreach (var watcher in _watchers)
        {
            // Bounded per watcher: a stalled client loses its oldest deltas rather than growing memory.
            watcher.Writer.TryWrite(ev);
        }
        return ev;
    }

    private void Buffer(SessionEvent ev, DateTimeOffset now, long id)
    {
        if (ev.Type == SessionEventTypes.TurnDelta)
        {
            _chunksOf = ev.TurnId;
        }
        else if (_chunksOf is not null && ev.TurnId == _chunksOf && ev.Turn is { } turn && turn.Status.IsFinished())
        {
            // The turn's terminal event supersedes its chunks: a client resuming from among them gets the whole text.
            var chunks = _chunksOf;
            _chunksOf = null;
            var kept = _replay.Where(e => e.Event.Type != SessionEventTypes.TurnDelta || e.Event.TurnId != chunks).ToList();
            _replay.Clear();
            foreach (var entry in kept) _replay.Enqueue(entry);
        }
        if (_replay.Count == ReplayCapacity) _evictedUpTo = Math.Max(_evictedUpTo, _replay.Dequeue().Id);
        _replay.Enqueue((ev, now, id));
    }

    /// <summary>Subscribes; returns the buffered events after <paramref name="lastEventId"/> when it is still
    /// covered by the buffer, otherwise null (the caller then sends a snapshot instead).</summary>
    public (Channel<SessionEvent> Channel, List<SessionEvent>? Replay) Subscribe(string? lastEventId)
    {
        var channel = Channel.CreateBounded<SessionEvent>(new BoundedChannelOptions(4096)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _watchers.Add(channel);
        return (channel, ReplayAfter(lastEventId));
    }

    /// <summary>A late watcher's start (see <see cref="ISessionGrain.Catchup"/>): the replay after <paramref name="lastEventId"/>
    /// or else the snapshot, and the id of the newest event published so far.</summary>
    public (List<SessionEvent> Events, string UpTo) Catchup(string? lastEventId, Func<IEnumerable<SessionEvent>> snapshot) =>
        (ReplayAfter(lastEventId) ?? snapshot().ToList(), _next.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The buffered events after <paramref name="lastEventId"/>, or null when the buffer no longer covers it.</summary>
    private List<SessionEvent>? ReplayAfter(string? lastEventId)
    {
        Trim(_time.GetUtcNow());
        // Covered when nothing after the client's last event was dropped; its chunks of a finished turn may be gone, but
        // that turn's terminal event (with the whole text) is then among what follows.
        if (long.TryParse(lastEventId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var last)
            && last > 0 && last >= _evictedUpTo)
        {
            return _replay.Where(e => e.Id > last).Select(e => e.Event).ToList();
        }
        return null;
    }

    /// <summary>
    /// A watcher's stream: a heartbeat at once (the caller learns its checks passed before it commits to a stream),
    /// then the replay after <paramref name="lastEventId"/> or else <paramref name="snapshot"/>, then live events, with
    /// a heartbeat whenever <paramref name="heartbeat"/> passes without one.
    /// </summary>
    public async IAsyncEnumerable<SessionEvent> WatchAsync(string? lastEventId, Func<IEnumerable<SessionEvent>> snapshot, TimeSpan heartbeat,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (channel, replay) = Subscribe(lastEventId);
        // Taken in the same step as the subscription: the live events that follow are exactly those published after it,
        // so a reader that joins a running turn can add its chunks to the snapshot's text without counting one twice.
        var start = replay ?? snapshot().ToList();
        try
        {
            yield return new SessionEvent { Id = "", Type = SessionEventTypes.Heartbeat };
            foreach (var ev in start) yield return ev;

            await foreach (var ev in channel.Reader.ReadWithHeartbeatsAsync(heartbeat, () => new SessionEvent { Id = "", Type = SessionEventTypes.Heartbeat }, cancellationToken))
            {
                yield return ev;
            }
        }
        finally
        {
            Unsubscribe(channel);
        }
    }

    /// <summary>Drops the events older than <see cref="ReplayAge"/> (the queue is in publishing order).</summary>
    private void Trim(DateTimeOffset now)
    {
        while (_replay.TryPeek(out var oldest) && now - oldest.At > ReplayAge) _evictedUpTo = Math.Max(_evictedUpTo, _replay.Dequeue().Id);
    }

    /// <summary>How many events a reconnecting watcher could still be replayed (for tests and diagnostics).</summary>
    public int Replayable
    {
        get
        {
            Trim(_time.GetUtcNow());
            return _replay.Count;
        }
    }

    public void Unsubscribe(Channel<SessionEvent> channel)
    {
        if (_watchers.Remove(channel) && _watchers.Count == 0) _lastWatched = _time.GetUtcNow();
        channel.Writer.TryComplete();
    }

    public void CompleteAll()
    {
        foreach (var w in _watchers) w.Writer.TryComplete();
        if (_watchers.Count > 0) _lastWatched = _time.GetUtcNow();
        _watchers.Clear();
    }
}
