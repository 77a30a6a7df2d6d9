using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Memory;
using Loom.Sessions;
using Loom.Timeline;

using Loom.Multiplayer;

namespace Loom.Gateway.Endpoints;

/// <summary>A session's world memory: list, get, world edits (PUT/DELETE) and search.</summary>
public static class MemoryEndpoints
{
    private const int DefaultSearchLimit = 10;
    private const int MaxQueryChars = 2000;

    public static IEndpointRouteBuilder MapMemoryEndpoints(this IEndpointRouteBuilder app)
    {
        var memory = app.MapGroup("/api/sessions/{sessionId}/memory").WithTags("Memory").RequireRoles(LoomPolicies.Play);

        memory.MapGet("/", async (string sessionId, string? type, string? query, int? limit, string? after,
            HttpContext http, IGrainFactory grains) =>
        {
            if (query is { Length: > MaxQueryChars }) throw Problems.Invalid("query", $"query must be at most {MaxQueryChars} characters.");
            var filter = new MemoryListQuery
            {
                Type = string.IsNullOrEmpty(type) ? null : ParseType(type, "type"),
                Query = query,
                Limit = Paging.Limit(limit),
                After = string.IsNullOrEmpty(after) ? null : after,
            };
            var page = await grains.ReadAsync(http, sessionId, (s, a) => s.ListMemory(a.ActingOwnerId, filter));
            return TypedResults.Ok(new Page<MemoryEntity>(page.Items, page.Next));
        }).ProducesProblem(400).ProducesProblem(404);

        memory.MapGet("/{entityId}", async (string sessionId, string entityId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.ReadAsync(http, sessionId, (s, a) => s.GetMemory(a.ActingOwnerId, entityId))))
            .ProducesProblem(404);

        memory.MapPut("/{entityId}", async (string sessionId, string entityId, MemoryEditBody body,
            HttpContext http, IGrainFactory grains) =>
        {
            if (string.IsNullOrWhiteSpace(body.Type)) throw Problems.Invalid("type", "type is required.");
            var type = ParseType(body.Type, "type");
            if (string.IsNullOrWhiteSpace(body.Name)) throw Problems.Invalid("name", "name is required.");
            if (body.Content is null) throw Problems.Invalid("content", "content is required (it may be empty).");
            if (body.Reason is { Length: > TimelineLimits.MaxReasonChars }) throw Problems.Invalid("reason", $"reason must be at most {TimelineLimits.MaxReasonChars} characters.");
            var edit = new MemoryEdit { Type = type, Name = body.Name, Content = body.Content, Attributes = body.Attributes, Reason = body.Reason };
            var access = await grains.AccessAsync(http, sessionId, RoomAction.WorldEdit);
            var entity = await grains.GetGrain<ISessionGrain>(sessionId).PutMemory(access.ActingOwnerId, entityId, edit);
            await grains.RecordAsync(http, sessionId, access, "memory.put", entityId);
            return TypedResults.Ok(entity);
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(422);

        memory.MapDelete("/{entityId}", async (string sessionId, string entityId, string? reason, HttpContext http, IGrainFactory grains) =>
        {
            if (reason is { Length: > TimelineLimits.MaxReasonChars }) throw Problems.Invalid("reason", $"reason must be at most {TimelineLimits.MaxReasonChars} characters.");
            var access = await grains.AccessAsync(http, sessionId, RoomAction.WorldEdit);
            await grains.GetGrain<ISessionGrain>(sessionId).DeleteMemory(access.ActingOwnerId, entityId, reason);
            await grains.RecordAsync(http, sessionId, access, "memory.delete", entityId);
            return TypedResults.NoContent();
        }).ProducesProblem(403).ProducesProblem(404);

        memory.MapPost("/search", async (string sessionId, MemorySearchBody body, HttpContext http, IGrainFactory grains) =>
        {
            if (string.IsNullOrWhiteSpace(body.Query)) throw Problems.Invalid("query", "query is required.");
            if (body.Query.Length > MaxQueryChars) throw Problems.Invalid("query", $"query must be at most {MaxQueryChars} characters.");
            var mode = body.Mode switch
            {
                null or "" => SearchMode.Hybrid,
                var m when Enum.TryParse<SearchMode>(m, ignoreCase: true, out var parsed) && !int.TryParse(m, out _) => parsed,
                _ => throw Problems.Invalid("mode", "mode must be keyword, vector or hybrid."),
            };
            var limit = body.Limit switch
            {
                null => DefaultSearchLimit,
                < 1 or > Paging.MaxLimit => throw Problems.Invalid("limit", $"limit must be between 1 and {Paging.MaxLimit}."),
                var l => l.Value,
            };
            var hits = await grains.ReadAsync(http, sessionId, (s, a) => s.SearchMemory(a.ActingOwnerId, body.Query, mode, limit));
            return TypedResults.Ok(new ItemList<ScoredEntity>(hits));
        }).ReadsOnly().ProducesProblem(400).ProducesProblem(404);

        return app;
    }

    private static EntityType ParseType(string text, string field) =>
        EntityIds.TryParseType(text, out var type)
            ? type
            : throw Problems.Invalid(field, "type must be one of character, location, item, fact, event, plotline, relationship, summary.");
}
