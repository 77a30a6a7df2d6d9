using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Multiplayer;
using Loom.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Loom.Gateway.Endpoints;

public static class SessionEndpoints
{
    public static IEndpointRouteBuilder MapSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var sessions = app.MapGroup("/api/sessions").WithTags("Sessions").RequireRoles(LoomPolicies.Play);

        sessions.MapPost("/", async (CreateSessionBody body, HttpContext http, IGrainFactory grains) =>
        {
            var caller = http.GetCaller();
            if (string.IsNullOrWhiteSpace(body.WorldId)) throw Problems.Invalid("worldId", "worldId is required.");
            var sessionId = SessionIds.New();
            var info = await NewSession.CreateAsync(grains, sessionId, new SessionSpec
            {
                OwnerId = caller.OwnerId,
                Caller = caller,
                WorldId = body.WorldId,
                Name = body.Name,
                CanonVersion = body.CanonVersion,
                Llm = body.Llm,
                Policy = body.Policy,
                Greeting = body.Greeting,
            });
            return TypedResults.Created($"/api/sessions/{sessionId}", info);
        }).ProducesProblem(400).ProducesProblem(404).ProducesProblem(422).ProducesProblem(429);

        sessions.MapGet("/", ListAsync);

        sessions.MapGet("/{sessionId}", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.ReadAsync(http, sessionId, (s, a) => ReadInfoAsync(s, a))))
            .ProducesProblem(404);

        sessions.MapPatch("/{sessionId}", async (string sessionId, PatchSessionBody body, HttpContext http, IGrainFactory grains) =>
        {
            if (body.Status == SessionStatus.Archived) throw Problems.Invalid("status", "status must be active, paused or completed.");
            return TypedResults.Ok(await grains.GetGrain<ISessionGrain>(sessionId)
                .Update(http.GetCaller().OwnerId, new SessionPatch { Name = body.Name, Status = body.Status, Policy = body.Policy }));
        }).ProducesProblem(400).ProducesProblem(404);

        sessions.MapDelete("/{sessionId}", async (string sessionId, bool? permanent, HttpContext http, IGrainFactory grains) =>
        {
            await grains.GetGrain<ISessionGrain>(sessionId).Delete(http.GetCaller().OwnerId, permanent ?? false);
            return TypedResults.NoContent();
        }).ProducesProblem(404);

        return app;
    }

    private static async Task<Ok<Page<SessionInfo>>> ListAsync(
        string? status, int? limit, string? after, HttpContext http, IGrainFactory grains)
    {
        var owner = http.GetCaller().OwnerId;
        var take = Paging.Limit(limit);
        SessionStatus? wanted = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!Enum.TryParse<SessionStatus>(status, ignoreCase: true, out var parsed) || int.TryParse(status, out _))
                throw Problems.Invalid("status", "status must be one of active, paused, completed, archived.");
            wanted = parsed;
        }

        var page = await grains.GetGrain<IOwnerGrain>(owner).ListSessions(wanted, take, after);
        return TypedResults.Ok(new Page<SessionInfo>(page.Items, page.Next));
    }

    /// <summary>The session as the caller sees it: with their role in it (owner, or a member's).</summary>
    private static async Task<SessionInfo> ReadInfoAsync(ISessionGrain session, RoomAccess access) =>
        await session.GetInfo(access.ActingOwnerId) with { Role = access.Role };
}
