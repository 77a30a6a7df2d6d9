namespace Loom.Sessions;

[GenerateSerializer, Alias("loom.OwnerState")]
public sealed class OwnerState
{
    [Id(0)] public List<OwnedSession> Sessions { get; set; } = [];
}

/// <summary>
/// An owner's session index, oldest first. Session details stay in the sessions themselves.
/// Reentrant: concurrent creates append in memory and Orleans merges their overlapping writes, so a burst of
/// session creates by one owner does not queue behind one storage write each.
/// </summary>
[Reentrant]
public sealed class OwnerGrain(
    [PersistentState("owner", "loom")] IPersistentState<OwnerState> state) : Grain, IOwnerGrain
{
    public async Task Add(OwnedSession session)
    {
        if (state.State.Sessions.Any(s => s.SessionId == session.SessionId)) return;
        state.State.Sessions.Add(session);
        await state.WriteStateAsync();
    }

    public async Task Remove(string sessionId)
    {
        if (state.State.Sessions.RemoveAll(s => s.SessionId == sessionId) > 0) await state.WriteStateAsync();
    }

    public Task<List<OwnedSession>> List() => Task.FromResult(state.State.Sessions.ToList());
}
