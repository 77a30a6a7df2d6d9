using Loom.Errors;
using Loom.Security;
using Loom.Storage;

namespace Loom.Multiplayer;

[GenerateSerializer, Alias("loom.InviteState")]
public sealed class InviteState
{
    [Id(0)] public string? SessionId { get; set; }
    [Id(1)] public DateTime ExpiresAt { get; set; }
}

/// <summary>Finds the session of an invite code, so a joiner needs only the code (the room still checks it).</summary>
public sealed class InviteGrain(
    [PersistentState("invite", StorageNames.Provider)] IPersistentState<InviteState> state,
    TimeProvider clock) : Grain, IInviteGrain, IMayHoldNothing
{
    public async Task Register(string sessionId, DateTime expiresAt)
    {
        state.State = new InviteState { SessionId = sessionId, ExpiresAt = expiresAt };
        await state.WriteStateAsync();
    }

    public async Task Revoke()
    {
        await state.ClearStateAsync();
        state.State = new InviteState();
    }

    public Task<RoomView> Join(Caller caller, string displayName, string? persona)
    {
        if (Spent || state.State.SessionId is not { } sessionId)
        {
            EmptyActivations.Retire(this); // guessed or spent codes must not pile up as idle activations
            throw Problems.NotFound("Invite", this.GetPrimaryKeyString());
        }
        return GrainFactory.GetGrain<ISessionRoomGrain>(sessionId).Join(caller, this.GetPrimaryKeyString(), displayName, persona);
    }

    /// <summary>Never registered, revoked or expired: the code leads nowhere.</summary>
    private bool Spent => state.State.SessionId is null || state.State.ExpiresAt <= clock.GetUtcNow().UtcDateTime;

    bool IMayHoldNothing.HoldsNothing => Spent;
}
