using Loom.Gateway.Auth;
using Loom.Multiplayer;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// Whose authority a session request runs under: the caller's own for a solo session, the owner's for a member of a
/// shared one (the room grain decides, and answers 404 to non-members and 403 when the role may not).
/// </summary>
internal static class SessionAccess
{
    public static Task<RoomAccess> AccessAsync(this IGrainFactory grains, HttpContext http, string sessionId, RoomAction action) =>
        grains.GetGrain<ISessionRoomGrain>(sessionId).Resolve(http.GetCaller(), action);

    public static async Task<string> ActingOwnerAsync(this IGrainFactory grains, HttpContext http, string sessionId, RoomAction action) =>
        (await grains.AccessAsync(http, sessionId, action)).ActingOwnerId;

    /// <summary>In a shared session, records who did an out-of-story action (the session's own audit names its owner).</summary>
    public static Task RecordAsync(this IGrainFactory grains, HttpContext http, string sessionId, RoomAccess access, string action, string? detail) =>
        access.Shared ? grains.GetGrain<ISessionRoomGrain>(sessionId).Record(http.GetCaller(), action, detail) : Task.CompletedTask;
}
