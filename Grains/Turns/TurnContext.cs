using Loom.Memory;
using Loom.Sessions;
using Loom.Storage;
using Loom.Timeline;
using Loom.Worlds;

namespace Loom.Turns;

/// <summary>
/// The session as its turns see it, one per activation: header, journal, memory, live events, the pinned canon,
/// and the token that stops the activation's work. The grain builds it when it activates; the
/// <see cref="TurnRunner"/> runs every turn of the activation against it.
/// </summary>
public sealed class TurnContext(
    string sessionId,
    GrainRows<SessionState> header,
    TurnJournal journal,
    SessionMemoryStore memory,
    SessionEventHub events,
    CanonCache canons,
    CancellationToken stopping)
{
    private CanonVersion? _canon;
    private CancellationToken _turn;

    public string SessionId => sessionId;
    public SessionState State => header.State;
    public TurnJournal Journal => journal;
    public SessionMemoryStore Memory => memory;
    public SessionEventHub Events => events;
    /// <summary>Stops the work: the activation's token, or the running turn's own (linked to it) while one is set.</summary>
    public CancellationToken Stopping => _turn.CanBeCanceled ? _turn : stopping;

    /// <summary>Runs the next turn under <paramref name="turn"/> (e.g. a narration withdrawn when its accept fails) until <see cref="EndTurn"/>.</summary>
    public void BeginTurn(CancellationToken turn) => _turn = turn;

    public void EndTurn()
    {
        _turn = default;
        Step = null;
    }

    /// <summary>The step the running turn is in (canon, memory, recall, narrate, remember): named when a
    /// drain gives up on a turn, so a step that ignores cancellation shows in the log.</summary>
    public string? Step { get; set; }

    /// <summary>The session's pinned canon version (fetched once per activation).</summary>
    public async Task<CanonVersion> CanonAsync() => _canon ??= await canons.GetAsync(State.WorldId, State.CanonVersion);

    /// <summary>The world's policy combined with the session's own.</summary>
    public EffectivePolicy PolicyOf(CanonVersion canon) => EffectivePolicy.Combine(canon.Metadata, State.Policy);
}
