using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Multiplayer;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Loom.Gateway.Endpoints;

public sealed record InviteBody(string? Role, int? ExpiresInMinutes);
public sealed record JoinBody(string? DisplayName, string? Persona);
public sealed record MemberBody(string? Role, string? DisplayName, string? Persona);
public sealed record RoomBody(string? Mode, int? RoundTimeoutSeconds, RolePolicy? Policy);
public sealed record ProposalBody(string? Input);
public sealed record AcceptBody(string? Input);
public sealed record ChatBody(string? Text);

/// <summary>Several people in one story (docs/multiplayer.md): invites, members, turn-taking, proposals and the side channel.</summary>
public static class RoomEndpoints
{
    public static IEndpointRouteBuilder MapRoomEndpoints(this IEndpointRouteBuilder app)
    {
        var session = app.MapGroup("/api/sessions/{sessionId}").WithTags("Multiplayer").RequireRoles(LoomPolicies.Play);

        session.MapPost("/invites", async (string sessionId, InviteBody body, HttpContext http, IGrainFactory grains) =>
        {
            var role = ParseRole(body.Role ?? "player", "role");
            var minutes = body.ExpiresInMinutes ?? (int)RoomLimits.DefaultInviteLifetime.TotalMinutes;
            var invite = await Room(grains, sessionId).Invite(http.GetCaller(), role, TimeSpan.FromMinutes(minutes));
            return TypedResults.Created($"/api/invites/{invite.Code}", invite);
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);

        session.MapGet("/invites", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(new ItemList<RoomInvite>(await Room(grains, sessionId).ListInvites(http.GetCaller()))));

        session.MapDelete("/invites/{code}", async (string sessionId, string code, HttpContext http, IGrainFactory grains) =>
        {
            await Room(grains, sessionId).RevokeInvite(http.GetCaller(), code);
            return TypedResults.NoContent();
        }).ProducesProblem(403).ProducesProblem(404);

        app.MapPost("/api/invites/{code}/join", async (string code, JoinBody body, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IInviteGrain>(code).Join(http.GetCaller(), body.DisplayName ?? "", body.Persona)))
            .WithTags("Multiplayer").RequireRoles(LoomPolicies.Play)
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapGet("/room", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await Room(grains, sessionId).Get(http.GetCaller()))).ProducesProblem(404);

        session.MapPatch("/room", async (string sessionId, RoomBody body, HttpContext http, IGrainFactory grains) =>
        {
            TurnMode? mode = body.Mode?.Trim().ToLowerInvariant() switch
            {
                null => null,
                "free" => TurnMode.Free,
                "round" => TurnMode.Round,
                "host" => TurnMode.Host,
                _ => throw Problems.Invalid("mode", "mode must be free, round or host."),
            };
            return TypedResults.Ok(await Room(grains, sessionId).Configure(http.GetCaller(),
                new RoomSettings { Mode = mode, RoundTimeoutSeconds = body.RoundTimeoutSeconds, Policy = body.Policy }));
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);

        session.MapPost("/room/pass", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await Room(grains, sessionId).Pass(http.GetCaller()))).ProducesProblem(404).ProducesProblem(409);

        session.MapGet("/room/audit", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(new ItemList<RoomAuditEntry>(await Room(grains, sessionId).ListAudit(http.GetCaller()))))
            .ProducesProblem(403).ProducesProblem(404);

        session.MapGet("/members", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(new ItemList<RoomMember>((await Room(grains, sessionId).Get(http.GetCaller())).Members))).ProducesProblem(404);

        session.MapPatch("/members/{memberId}", async (string sessionId, string memberId, MemberBody body, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await Room(grains, sessionId).UpdateMember(http.GetCaller(), memberId, new MemberPatch
            {
                Role = body.Role is null ? null : ParseRole(body.Role, "role"),
                DisplayName = body.DisplayName,
                Persona = body.Persona,
            }))).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);

        session.MapDelete("/members/{memberId}", async (string sessionId, string memberId, bool? block, HttpContext http, IGrainFactory grains) =>
        {
            await Room(grains, sessionId).RemoveMember(http.GetCaller(), memberId, block ?? false);
            return TypedResults.NoContent();
        }).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapPost("/proposals", async (string sessionId, ProposalBody body, HttpContext http, IGrainFactory grains) =>
        {
            var proposal = await Room(grains, sessionId).Propose(http.GetCaller(), body.Input ?? "");
            return TypedResults.Created($"/api/sessions/{sessionId}/proposals/{proposal.ProposalId}", proposal);
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapGet("/proposals", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(new ItemList<Proposal>(await Room(grains, sessionId).ListProposals(http.GetCaller())))).ProducesProblem(404);

        session.MapPost("/proposals/{proposalId}/accept", async (string sessionId, string proposalId, AcceptBody? body, HttpContext http, IGrainFactory grains) =>
        {
            var turn = await Room(grains, sessionId).Accept(http.GetCaller(), proposalId, body?.Input);
            return TypedResults.Accepted($"/api/sessions/{sessionId}/turns/{turn.TurnId}", turn);
        }).RequireRateLimiting(LoomPolicies.Turns).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapPost("/proposals/{proposalId}/reject", async (string sessionId, string proposalId, HttpContext http, IGrainFactory grains) =>
        {
            await Room(grains, sessionId).Reject(http.GetCaller(), proposalId);
            return TypedResults.NoContent();
        }).ProducesProblem(403).ProducesProblem(404);

        session.MapPost("/chat", async (string sessionId, ChatBody body, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await Room(grains, sessionId).Say(http.GetCaller(), body.Text ?? ""))).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);

        session.MapGet("/chat", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(new ItemList<ChatLine>(await Room(grains, sessionId).ListChat(http.GetCaller())))).ProducesProblem(403).ProducesProblem(404);

        return app;
    }

    private static ISessionRoomGrain Room(IGrainFactory grains, string sessionId) => grains.GetGrain<ISessionRoomGrain>(sessionId);

    private static MemberRole ParseRole(string role, string field) => role switch
    {
        "player" => MemberRole.Player,
        "spectator" => MemberRole.Spectator,
        _ => throw Problems.Invalid(field, $"{field} must be player or spectator."),
    };
}
