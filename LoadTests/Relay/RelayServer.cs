using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Loom.LoadTests.Target;

namespace Loom.LoadTests.Relay;

/// <summary>
/// The machine's floor (<c>--relay</c>): a process that answers the few calls of the turn workloads without an engine.
/// A turn is one request to the model — the world's canon files as the system message, the player's input as the
/// user message, streamed as LOOM asks for it — whose chunks are gathered and returned as a completed turn. Nothing is
/// queued, stored, recalled or counted. Whatever a workload measures against it on these cores (the runner, its fake
/// model, Kestrel and an HTTP client) is spent before any engine adds its share.
/// </summary>
public static class RelayServer
{
    public const string Command = "serve-relay";

    /// <summary><c>serve-relay --urls URL --llm BASE</c>: serves until the process is stopped.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken ct)
    {
        var urls = Value(args, "--urls");
        var llm = Value(args, "--llm");
        if (urls is null || llm is null || !Uri.TryCreate(llm.TrimEnd('/') + "/", UriKind.Absolute, out var model))
        {
            await Console.Error.WriteLineAsync($"usage: {Command} --urls http://127.0.0.1:PORT --llm http://127.0.0.1:PORT/v1");
            return 2;
        }

        var builder = HarnessWeb.CreateBuilder();
        builder.WebHost.UseUrls(urls);
        // As the gateway does (Loom:Http:Limits:ListenBacklog): a 1,000-user burst of new connections must not overflow.
        builder.WebHost.UseSockets(o => o.Backlog = 4096);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = builder.Build();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = model,
            Timeout = TimeSpan.FromMinutes(2),
        };
        Map(app, new RelayState(http));
        await app.RunAsync(ct);
        return 0;
    }

    private static void Map(WebApplication app, RelayState state)
    {
        // The relay is apparatus, but a malformed body still gets a 400, not a 500 and a stack trace in its log.
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException && !context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
            }
        });
        app.MapGet("/readyz", () => TypedResults.Text("Healthy"));
        app.MapPut("/api/worlds/{worldId}", async (string worldId, HttpRequest request) =>
        {
            var files = (await JsonNode.ParseAsync(request.Body))?["files"]?.AsObject();
            if (files is null) return Results.BadRequest();
            // The canon as the engine passes it: every file verbatim, one after another.
            state.Canons[worldId] = string.Join("\n\n", files.Select(f => $"# {f.Key}\n{f.Value?.GetValue<string>()}"));
            return Results.Json(new { worldId, version = 1, hash = "relay" });
        });
        app.MapPost("/api/canon/validate", () => Results.Json(new { valid = true }));
        app.MapPost("/api/sessions", async (HttpRequest request) =>
        {
            var body = await JsonNode.ParseAsync(request.Body);
            var worldId = body?["worldId"]?.GetValue<string>();
            if (worldId is null || !state.Canons.ContainsKey(worldId)) return Results.NotFound();
            var session = new RelaySession(worldId, body?["name"]?.GetValue<string>());
            var id = "s" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
            state.Sessions[id] = session;
            return Results.Json(session.Info(id), statusCode: StatusCodes.Status201Created);
        });
        app.MapGet("/api/sessions/{sessionId}", (string sessionId) =>
            state.Sessions.TryGetValue(sessionId, out var s) ? Results.Json(s.Info(sessionId)) : Results.NotFound());
        app.MapMethods("/api/sessions/{sessionId}", ["PATCH"], async (string sessionId, HttpRequest request) =>
        {
            if (!state.Sessions.TryGetValue(sessionId, out var s)) return Results.NotFound();
            s.Name = (await JsonNode.ParseAsync(request.Body))?["name"]?.GetValue<string>() ?? s.Name;
            return Results.Json(s.Info(sessionId));
        });
        app.MapPost("/api/sessions/{sessionId}/turns", async (string sessionId, HttpRequest request, CancellationToken ct) =>
        {
            if (!state.Sessions.TryGetValue(sessionId, out var s)) return Results.NotFound();
            var input = (await JsonNode.ParseAsync(request.Body, cancellationToken: ct))?["input"]?.GetValue<string>() ?? "";
            var clock = Stopwatch.StartNew();
            var narrative = await NarrateAsync(state.Http, state.Canons[s.WorldId], input, ct);
            var seq = Interlocked.Increment(ref s.Turns);
            return Results.Json(new
            {
                turnId = Guid.NewGuid().ToString("N"), seq, status = "completed", input, narrative,
                latencyMs = clock.Elapsed.TotalMilliseconds,
            });
        });
    }

    /// <summary>One streamed chat completion, its content deltas gathered (the usage chunk has no choices).</summary>
    private static async Task<string> NarrateAsync(HttpClient http, string canon, string input, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = "fake-model",
                stream = true,
                stream_options = new { include_usage = true },
                messages = new object[] { new { role = "system", content = canon }, new { role = "user", content = input } },
            }),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        var text = new StringBuilder();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line[6..];
            if (data == "[DONE]") break;
            if (JsonNode.Parse(data)?["choices"] is JsonArray { Count: > 0 } choices
                && choices[0]?["delta"]?["content"] is { } content)
                text.Append(content.GetValue<string>());
        }
        return text.ToString();
    }

    private static string? Value(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i + 1 < args.Count; i++)
            if (args[i] == name) return args[i + 1];
        return null;
    }

    private sealed record RelayState(HttpClient Http)
    {
        public ConcurrentDictionary<string, string> Canons { get; } = new(StringComparer.Ordinal);
        public ConcurrentDictionary<string, RelaySession> Sessions { get; } = new(StringComparer.Ordinal);
    }

    private sealed class RelaySession(string worldId, string? name)
    {
        public string WorldId { get; } = worldId;
        public string? Name { get; set; } = name;
        public int Turns;

        public object Info(string id) => new { sessionId = id, name = Name, status = "active", turnCount = Volatile.Read(ref Turns), pendingTurns = 0 };
    }
}
