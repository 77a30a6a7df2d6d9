using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

using Loom.Tests.Stubs;

namespace Loom.Tests.LoadTests;

/// <summary>
/// A tiny in-memory stand-in for the LOOM HTTP API (only what the load scenarios call), on 127.0.0.1:0, so the
/// runner can be tested end to end without the real gateway.
/// </summary>
internal sealed class StubLoomApi : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly ConcurrentDictionary<string, StubSession> _sessions = new();

    public Uri BaseAddress { get; private set; } = null!;
    public bool FailTurns { get; init; }
    public bool WithMemory { get; init; }
    public bool WithMetrics { get; init; }
    public int TurnsWithoutIdempotencyKey;

    public static async Task<StubLoomApi> StartAsync(bool failTurns = false, bool withMemory = false, bool withMetrics = false)
    {
        var stub = new StubLoomApi { FailTurns = failTurns, WithMemory = withMemory, WithMetrics = withMetrics };
        (stub._app, stub.BaseAddress) = await LoopbackHost.StartAsync(stub.Map);
        return stub;
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/readyz", () => "ready");
        app.MapPost("/api/canon/validate", () => Results.Json(new { valid = true, errors = Array.Empty<object>(), warnings = Array.Empty<object>(), sections = Array.Empty<object>() }));
        app.MapPut("/api/worlds/{worldId}", async (string worldId, HttpRequest request) =>
        {
            using var doc = await JsonDocument.ParseAsync(request.Body);
            return doc.RootElement.TryGetProperty("files", out _)
                ? Results.Json(new { worldId, version = 1, hash = "h" }, statusCode: 201)
                : Results.Problem(title: "files missing", statusCode: 400);
        });
        app.MapPost("/api/sessions", () =>
        {
            var s = new StubSession(Guid.NewGuid().ToString("N"));
            _sessions[s.Id] = s;
            return Results.Json(s.ToJson(), statusCode: 201);
        });
        app.MapGet("/api/sessions/{id}", (string id) => _sessions.TryGetValue(id, out var s) ? Results.Json(s.ToJson()) : Results.Problem(statusCode: 404));
        app.MapMethods("/api/sessions/{id}", ["PATCH"], (string id) => _sessions.TryGetValue(id, out var s) ? Results.Json(s.ToJson()) : Results.Problem(statusCode: 404));
        app.MapPost("/api/sessions/{id}/turns", (string id, HttpRequest request) =>
        {
            if (!_sessions.TryGetValue(id, out var s)) return Results.Problem(statusCode: 404);
            if (string.IsNullOrEmpty(request.Headers["Idempotency-Key"])) Interlocked.Increment(ref TurnsWithoutIdempotencyKey);
            if (FailTurns) return Results.Problem(title: "cluster unavailable", statusCode: 503);
            var seq = Interlocked.Increment(ref s.Turns);
            return Results.Json(new { turnId = Guid.NewGuid().ToString("N"), seq, status = "completed", latencyMs = 1.0, narrative = "ok", error = (object?)null });
        });
        app.MapGet("/api/sessions/{id}/turns", (string id) => _sessions.TryGetValue(id, out var s)
            ? Results.Json(new { items = Enumerable.Range(1, s.Turns).Select(i => new { turnId = $"t{i}", seq = i, status = "completed" }), next = (string?)null })
            : Results.Problem(statusCode: 404));
        if (WithMetrics)
        {
            // Sessions are "collected" as soon as they are idle: the gauge always reads 0.
            app.MapGet("/metrics", () => Results.Text(
                "# TYPE loom_sessions_active gauge\nloom_sessions_active{otel_scope_name=\"Loom\"} 0\n" +
                "# TYPE dotnet_gc_last_collection_heap_size_bytes gauge\ndotnet_gc_last_collection_heap_size_bytes{gc_heap_generation=\"gen0\"} 1048576\n",
                "text/plain; version=0.0.4"));
        }
        if (!WithMemory) return;
        app.MapPut("/api/sessions/{id}/memory/{entityId}", async (string id, string entityId, HttpRequest request) =>
        {
            if (!_sessions.TryGetValue(id, out var s)) return Results.Problem(statusCode: 404);
            using var doc = await JsonDocument.ParseAsync(request.Body);
            var entity = new { entityId, type = doc.RootElement.GetProperty("type").GetString(), name = doc.RootElement.GetProperty("name").GetString(), content = "c", version = 1 };
            s.Memory[entityId] = entity;
            return Results.Json(entity);
        });
        app.MapGet("/api/sessions/{id}/memory/{entityId}", (string id, string entityId) =>
            _sessions.TryGetValue(id, out var s) && s.Memory.TryGetValue(entityId, out var e) ? Results.Json(e) : Results.Problem(statusCode: 404));
        app.MapPost("/api/sessions/{id}/memory/search", (string id) => _sessions.TryGetValue(id, out var s)
            ? Results.Json(new { items = s.Memory.Values.Take(5).Select(e => new { entity = e, score = 1.0 }) })
            : Results.Problem(statusCode: 404));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class StubSession(string id)
    {
        public string Id { get; } = id;
        public int Turns;
        public ConcurrentDictionary<string, object> Memory { get; } = new();
        public object ToJson() => new { sessionId = Id, name = "s", status = "active", turnCount = Turns, pendingTurns = 0 };
    }
}
