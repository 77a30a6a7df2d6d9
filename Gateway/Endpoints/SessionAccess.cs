using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Multiplayer;
using Loom.Security;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// Whose authority a session request runs under. The common case — the owner, and a session that was never shared —
/// costs no grain call besides the session's own: requests go to the session under the caller's id first, and only when
/// the session answers 404 (the caller is not its owner) or refuses a submit that must pass turn-taking does the room
/// decide (404 to non-members, 403 when the role may not, the owner's authority for a member).
/// </summary>
internal static class SessionAccess
{
    /// <summary>The caller's access as the room sees it (one room call). For actions a room must check and audit even for
    /// its owner: rollback, fork, world edits.</summary>
    public static Task<RoomAccess> AccessAsync(this IGrainFactory grains, HttpContext http, string sessionId, RoomAction action) =>
        grains.GetGrain<ISessionRoomGrain>(sessionId).Resolve(http.GetCaller(), action);

    /// <summary>A read, as the owner when the caller is the owner, else as a member (the room is asked only then).</summary>
    public static async Task<T> ReadAsync<T>(this IGrainFactory grains, HttpContext http, string sessionId, Func<ISessionGrain, RoomAccess, Task<T>> read)
    {
        var session = grains.GetGrain<ISessionGrain>(sessionId);
        var caller = http.GetCaller();
        try
        {
            return await read(session, new RoomAccess { ActingOwnerId = caller.OwnerId, Role = MemberRole.Owner });
        }
        catch (LoomProblemException e) when (e.IsNotFound("Session"))
        {
            var access = await grains.GetGrain<ISessionRoomGrain>(sessionId).Resolve(caller, RoomAction.Read);
            if (!access.Shared) throw; // not a member either: the session's own 404
            return await read(session, access);
        }
    }

    /// <summary>Queues a turn: straight to the session for the owner of a solo session; through the room (member check,
    /// turn-taking, attribution) when the session says it is shared or the caller is not its owner.</summary>
    public static async Task<TurnView> SubmitAsync(this IGrainFactory grains, Caller caller, string sessionId, TurnSubmission submission)
    {
        try
        {
            return await grains.GetGrain<ISessionGrain>(sessionId).Submit(caller.OwnerId, submission);
        }
        catch (LoomProblemException e) when (e.IsNotFound("Session") || e.Code == RoomProblems.ThroughRoom)
        {
            return await grains.GetGrain<ISessionRoomGrain>(sessionId).Submit(caller, submission);
        }
    }

    /// <summary>In a shared session, records who did an out-of-story action (the session's own audit names its owner).</summary>
    public static Task RecordAsync(this IGrainFactory grains, HttpContext http, string sessionId, RoomAccess access, string action, string? detail) =>
        access.Shared ? grains.GetGrain<ISessionRoomGrain>(sessionId).Record(http.GetCaller(), action, detail) : Task.CompletedTask;
}
