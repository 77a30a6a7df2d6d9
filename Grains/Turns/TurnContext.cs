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

    public string SessionId => sessionId;
    public SessionState State => header.State;
    public TurnJournal Journal => journal;
    public SessionMemoryStore Memory => memory;
    public SessionEventHub Events => events;
    public CancellationToken Stopping => stopping;

    /// <summary>The session's pinned canon version (fetched once per activation).</summary>
    public async Task<CanonVersion> CanonAsync() => _canon ??= await canons.GetAsync(State.WorldId, State.CanonVersion);

    /// <summary>The world's policy combined with the session's own.</summary>
    public EffectivePolicy PolicyOf(CanonVersion canon) => EffectivePolicy.Combine(canon.Metadata, State.Policy);
}
