using System.Globalization;
using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Multiplayer;
using Loom.Sessions;
using Loom.Timeline;

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
            var newId = SessionEndpoints.NewSessionId();
            var access = await grains.AccessAsync(http, sessionId, RoomAction.Fork);
            // The fork belongs to whoever forked it, alone: no members, no invites.
            var info = await grains.GetGrain<ISessionGrain>(sessionId).Fork(access.ActingOwnerId,
                new ForkRequest { AtSeq = atSeq, Name = body.Name, Reason = body.Reason, NewSessionId = newId, NewOwnerId = http.GetCaller().OwnerId });
            await grains.RecordAsync(http, sessionId, access, "fork", $"at turn {atSeq} -> {newId}");
            return TypedResults.Created($"/api/sessions/{newId}", info);
        }).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);

        session.MapGet("/audit", async (string sessionId, int? limit, string? after, HttpContext http, IGrainFactory grains) =>
        {
            long? cursor = null;
            if (!string.IsNullOrEmpty(after))
            {
                if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var position))
                    throw Problems.Invalid("after", "after must be a cursor from a previous page.");
                cursor = position;
            }
            var page = await grains.GetGrain<ISessionGrain>(sessionId).ListAudit(await grains.ActingOwnerAsync(http, sessionId, RoomAction.Read), Paging.Limit(limit), cursor);
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
            var owner = await grains.ActingOwnerAsync(http, sessionId, RoomAction.Read);
            if (kind == Import.SillyTavernChat.Format)
            {
                var file = await grains.GetGrain<IChatPortGrain>(0).Export(owner, sessionId, kind);
                return TypedResults.File(file.Content, file.ContentType, file.FileName);
            }
            var export = await grains.GetGrain<ISessionGrain>(sessionId).Export(owner);
            return kind == "markdown"
                ? Results.Text(MarkdownExport.Render(export), "text/markdown; charset=utf-8")
                : TypedResults.Ok(export);
        }).Produces<SessionExport>().Produces(200, contentType: Import.SillyTavernChat.ContentType).ProducesProblem(400).ProducesProblem(404);

        app.MapPost("/api/sessions/import", async (string? format, string? worldId, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var caller = request.HttpContext.GetCaller();
            var newId = SessionEndpoints.NewSessionId();
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
}
