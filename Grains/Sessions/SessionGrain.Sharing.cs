using Loom.Events;

namespace Loom.Sessions;

/// <summary>
/// What the session knows of being shared (docs/multiplayer.md): only that it is. Its room holds the members; the flag
/// lets the gateway send an owner's requests straight here and ask the room only when the session says it must.
/// </summary>
public sealed partial class SessionGrain
{
    public Task<SessionCatchup> Catchup(string ownerId, string? lastEventId)
    {
        Require(ownerId);
        var (events, upTo) = _events.Catchup(lastEventId, _journal.Snapshot);
        return Task.FromResult(new SessionCatchup { Events = events, UpTo = upTo, Shared = S.Shared });
    }

    public async Task MarkShared(string ownerId)
    {
        Require(ownerId);
        if (S.Shared) return;
        S.Shared = true;
        await WriteHeaderOrRevertAsync();
    }
}
