using Loom.Memory;
using Loom.Storage;
using Microsoft.Extensions.Logging;

namespace Loom.Sessions;

/// <summary>
/// Creates sessions under ids minted a moment ago, on the calling silo, without activating them: a create is the
/// session's rows written in one commit, and the session activates, placed as usual, when it is first used. An
/// activation made at create would sit idle until then and, under a burst of creates, is most of what the garbage
/// collector has to move (docs/performance.md). Should an id ever collide, the header's write expects no row and
/// is refused, so nothing stored is overwritten.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class SessionFounderGrain(IGrainRowStore rows, SessionFounder founder, WorldMemoryFactory memoryFactory, ILogger<SessionFounderGrain> logger)
    : Grain, ISessionFounderGrain
{
    public Task<SessionInfo> Create(string sessionId, SessionSpec spec)
    {
        var grain = GrainFactory.GetGrain<ISessionGrain>(sessionId).GetGrainId();
        var state = new GrainRows<SessionState>(rows, grain, SessionRows.Header);
        return founder.FoundAsync(sessionId, spec, state, new SessionMemoryStore(sessionId, rows, state, memoryFactory, logger));
    }
}
