using System.Globalization;
using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Multiplayer;
using Loom.Sessions;
using Loom.Timeline;
using Loom.Turns;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Loom.Gateway.Endpoints;

/// <summary>Rollback, fork, audit, export and import of sessions.</summary>
public static class TimelineEndpoints
{
    public static IEndpointRouteBuilder MapTimelineEndpoints(this IEndpointRouteBuilder app)
    {
        var session = app.MapGroup("/api/sessions/{sessionId}").WithTags("Timeline").RequireRoles(LoomPolicies.Play);

        session.MapPost("/rollback", async (string sessionId, RollbackBody body, HttpContext http, IGrainFactory grains) =>
        {
            if (body.ToSeq is not { } toSeq) throw Problems.Invalid("toSeq", "toSeq is required.");
            if (toSeq < 0) throw Problems.Invalid("toSeq", "toSeq must not be negative.");
            var access = await grains.AccessAsync(http, sessionId, RoomAction.Rollback);
            var info = await grains.GetGrain<ISessionGrain>(sessionId)
                .Rollback(access.ActingOwnerId, new RollbackRequest { ToSeq = toSeq, Reason = body.Reason });
            await grains.RecordAsync(http, sessionId, access, "rollback", $"to turn {toSeq}");
            return TypedResults.Ok(info);
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapPost("/fork", async (string sessionId, ForkBody body, HttpContext http, IGrainFactory grains) =>
        {
            if (body.AtSeq is not { } atSeq) throw Problems.Invalid("atSeq", "atSeq is required.");
            if (atSeq < 0) throw Problems.Invalid("atSeq", "atSeq must not be negative.");
            var newId = SessionIds.New();
            var access = await grains.AccessAsync(http, sessionId, RoomAction.Fork);
            // The fork belongs to whoever forked it, alone: no members, no invites.
            var info = await grains.GetGrain<ISessionGrain>(sessionId).Fork(access.ActingOwnerId,
                new ForkRequest { AtSeq = atSeq, Name = body.Name, Reason = body.Reason, NewSessionId = newId, NewOwnerId = http.GetCaller().OwnerId });
            await grains.RecordAsync(http, sessionId, access, "fork", $"at turn {atSeq} -> {newId}");
            return TypedResults.Created($"/api/sessions/{newId}", info);
        }).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);

        // Alternatives of the latest turn (docs/api.md "Alternatives"): reworks are queued and stream like a turn.
        session.MapPost("/turns/{turnId}/regenerate", (string sessionId, string turnId, ReworkBody? body, bool? wait, int? timeout, HttpContext http, IGrainFactory grains) =>
            ReworkAsync(sessionId, turnId, new ReworkRequest { Kind = ReworkKind.Regenerate, Reason = body?.Reason }, wait, timeout, http, grains))
            .RequireRateLimiting(LoomPolicies.Turns) // a rework calls the narrator like a turn
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapPost("/turns/{turnId}/continue", (string sessionId, string turnId, ReworkBody? body, bool? wait, int? timeout, HttpContext http, IGrainFactory grains) =>
            ReworkAsync(sessionId, turnId, new ReworkRequest { Kind = ReworkKind.Continue, Reason = body?.Reason }, wait, timeout, http, grains))
            .RequireRateLimiting(LoomPolicies.Turns) // a rework calls the narrator like a turn
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapPost("/turns/{turnId}/resend", (string sessionId, string turnId, ResendBody body, bool? wait, int? timeout, HttpContext http, IGrainFactory grains) =>
        {
            if (body.Input is null) throw Problems.Invalid("input", "input is required.");
            return ReworkAsync(sessionId, turnId, new ReworkRequest { Kind = ReworkKind.Resend, Input = body.Input, Reason = body.Reason }, wait, timeout, http, grains);
        }).RequireRateLimiting(LoomPolicies.Turns).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapPut("/turns/{turnId}/choice", async (string sessionId, string turnId, ChoiceBody body, HttpContext http, IGrainFactory grains) =>
        {
            if (body.Alternative is not { } alternative) throw Problems.Invalid("alternative", "alternative is required.");
            var access = await grains.AccessAsync(http, sessionId, RoomAction.Rollback);
            var turn = await grains.GetGrain<ISessionGrain>(sessionId)
                .Choose(access.ActingOwnerId, turnId, new ChoiceRequest { Alternative = alternative, Reason = body.Reason });
            await grains.RecordAsync(http, sessionId, access, "choice", $"turn {turnId} alternative {alternative}");
            return TypedResults.Ok(turn);
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        session.MapGet("/tree", async (string sessionId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.ReadAsync(http, sessionId, (s, a) => s.GetTree(a.ActingOwnerId))))
            .ProducesProblem(404);

        session.MapGet("/audit", async (string sessionId, int? limit, string? after, HttpContext http, IGrainFactory grains) =>
        {
            long? cursor = null;
            if (!string.IsNullOrEmpty(after))
            {
                if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var position))
                    throw Problems.Invalid("after", "after must be a cursor from a previous page.");
                cursor = position;
            }
            var page = await grains.ReadAsync(http, sessionId, (s, a) => s.ListAudit(a.ActingOwnerId, Paging.Limit(limit), cursor, a.Role));
            return TypedResults.Ok(new Page<AuditEntry>(page.Items, page.Next));
        }).ProducesProblem(400).ProducesProblem(404);

        session.MapGet("/export", async (string sessionId, string? format, HttpContext http, IGrainFactory grains) =>
        {
            var kind = format?.ToLowerInvariant() switch
            {
                null or "" or "json" => "json",
                "markdown" or "md" => "markdown",
                Import.SillyTavernChat.Format => Import.SillyTavernChat.Format,
                _ => throw Problems.Invalid("format", $"format must be json, markdown or {Import.SillyTavernChat.Format}."),
            };
            if (kind == Import.SillyTavernChat.Format)
            {
                var file = await grains.ReadAsync(http, sessionId, (s, a) => grains.GetGrain<IChatPortGrain>(0).Export(a.ActingOwnerId, sessionId, kind));
                return TypedResults.File(file.Content, file.ContentType, file.FileName);
            }
            var export = await grains.ReadAsync(http, sessionId, (s, a) => grains.GetGrain<ISessionArchiveGrain>(0).Export(s.GetPrimaryKeyString(), a.ActingOwnerId, a.Role));
            return kind == "markdown"
                ? Results.Text(MarkdownExport.Render(export), "text/markdown; charset=utf-8")
                : TypedResults.Ok(export);
        }).Produces<SessionExport>().Produces(200, contentType: Import.SillyTavernChat.ContentType).ProducesProblem(400).ProducesProblem(404);

        app.MapPost("/api/sessions/import", async (string? format, string? worldId, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var caller = request.HttpContext.GetCaller();
            var newId = SessionIds.New();
            SessionInfo info;
            switch (format?.ToLowerInvariant())
            {
                case null or "" or "json":
                    if (!request.HasJsonContentType())
                        throw new LoomProblemException(415, "unsupported_media_type", "Unsupported media type", "Send a session export as application/json.");
                    var body = await request.ReadFromJsonAsync<SessionExport>(ct)
                        ?? throw Problems.Invalid("body", "The body must be a session export (JSON object).");
                    info = await grains.GetGrain<ISessionGrain>(newId).Import(caller.OwnerId, body);
                    break;
                case Import.SillyTavernChat.Format:
                    var chat = await request.ReadFileAsync(Import.SillyTavernChat.MaxFileBytes, "a SillyTavern chat", ct);
                    info = await grains.GetGrain<IChatPortGrain>(0).Import(caller, Import.SillyTavernChat.Format, chat, worldId ?? "", newId);
                    break;
                default:
                    throw Problems.Invalid("format", $"format must be json or {Import.SillyTavernChat.Format}.");
            }
            return TypedResults.Created($"/api/sessions/{newId}", info);
        }).WithTags("Timeline").RequireRoles(LoomPolicies.Play).WithImportBodyLimit()
          // One Accepts: endpoint selection honours only the last one, and both kinds of body come here.
          .Accepts<SessionExport>("application/json", Import.SillyTavernChat.ContentType, "application/x-ndjson", "application/octet-stream", "multipart/form-data")
          .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);

        return app;
    }

    /// <summary>Regenerate, continue or resend: authorised like a rollback, then answered like a turn submit.</summary>
    private static async Task<Results<Accepted<TurnView>, Ok<TurnView>>> ReworkAsync(string sessionId, string turnId, ReworkRequest request,
        bool? wait, int? timeout, HttpContext http, IGrainFactory grains)
    {
        TurnEndpoints.CheckWait(timeout);
        request = request with { IdempotencyKey = IdempotencyKeys.Read(http) };
        var access = await grains.AccessAsync(http, sessionId, RoomAction.Rollback);
        var session = grains.GetGrain<ISessionGrain>(sessionId);
        var turn = await session.Rework(access.ActingOwnerId, turnId, request);
        await grains.RecordAsync(http, sessionId, access, request.Kind.ToString().ToLowerInvariant(), $"turn {turnId}");
        return await TurnEndpoints.AnswerAsync(session, sessionId, access.ActingOwnerId, turn, wait, timeout);
    }
}
