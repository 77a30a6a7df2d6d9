using Loom.Security;
using Loom.Turns;

namespace Loom.Multiplayer;

/// <summary>
/// The shared side of a session (key: the session id): members, invites, roles, presence, turn-taking and the side
/// channel. A session nobody was invited to has no room state and every call passes straight through to the session
/// with the caller's own id, so solo play is unchanged. Members reach the session through this grain, which acts with
/// the owner's authority after checking the member's role; non-members get 404 as for an unknown session.
/// </summary>
public interface ISessionRoomGrain : IGrainWithStringKey
{
    /// <summary>Whose authority the caller acts under for <paramref name="action"/>: 404 for a non-member, 403 when the role or policy forbids it.</summary>
    [AlwaysInterleave] Task<RoomAccess> Resolve(Caller caller, RoomAction action);

    /// <summary>Records a member's successful out-of-story action (rollback, fork, world edit) with who did it.</summary>
    Task Record(Caller caller, string action, string? detail);

    /// <summary>Queues the caller's input as a turn after the turn-taking and role checks, attributed to the member.</summary>
    Task<TurnView> Submit(Caller caller, TurnSubmission submission);

    /// <summary>Whether <see cref="Submit"/> would take this input from the caller now (the same 403/409/400), without
    /// queueing it: for steps that must not start what the submit would then refuse (a /v1 rewind before its new turn).</summary>
    [AlwaysInterleave] Task CheckPlay(Caller caller, string input);

    [AlwaysInterleave] Task<RoomView> Get(Caller caller);
    Task<RoomView> Configure(Caller caller, RoomSettings settings);

    Task<RoomInvite> Invite(Caller caller, MemberRole role, TimeSpan validFor);
    [AlwaysInterleave] Task<List<RoomInvite>> ListInvites(Caller caller);
    Task RevokeInvite(Caller caller, string code);
    /// <summary>Adds the caller as a member (called through <see cref="IInviteGrain"/>).</summary>
    Task<RoomView> Join(Caller caller, string code, string displayName, string? persona);

    Task<RoomMember> UpdateMember(Caller caller, string memberId, MemberPatch patch);
    /// <summary>The owner kicks (and optionally blocks) a member, or a member leaves.</summary>
    Task RemoveMember(Caller caller, string memberId, bool block);

    /// <summary>Round mode: the member whose turn it is (or the owner) passes it on.</summary>
    Task<RoomView> Pass(Caller caller);

    Task<Proposal> Propose(Caller caller, string input);
    [AlwaysInterleave] Task<List<Proposal>> ListProposals(Caller caller);
    /// <summary>Owner: the proposal (or <paramref name="editedInput"/>) becomes a turn attributed to its proposer.</summary>
    Task<TurnView> Accept(Caller caller, string proposalId, string? editedInput);
    Task Reject(Caller caller, string proposalId);

    Task<ChatLine> Say(Caller caller, string text);
    [AlwaysInterleave] Task<List<ChatLine>> ListChat(Caller caller);
    [AlwaysInterleave] Task<List<RoomAuditEntry>> ListAudit(Caller caller);

    /// <summary>
    /// The session is being erased: members, invites, proposals, blocks and the room's audit go, members' lists drop the
    /// session and their streams end, so a later session under the same id (a /v1 name used again) starts unshared.
    /// Interleaves, because the room may itself be waiting on the session that calls it.
    /// </summary>
    [AlwaysInterleave] Task Close(string ownerId);

    /// <summary>The room's live events for one connection; while it is read the member counts as online.</summary>
    IAsyncEnumerable<RoomEvent> Watch(Caller caller, CancellationToken cancellationToken = default);
}

/// <summary>Maps an invite code to its session (key: the code).</summary>
public interface IInviteGrain : IGrainWithStringKey
{
    Task Register(string sessionId, DateTime expiresAt);
    Task Revoke();
    /// <summary>404 for an unknown, revoked or expired code.</summary>
    Task<RoomView> Join(Caller caller, string displayName, string? persona);
}
