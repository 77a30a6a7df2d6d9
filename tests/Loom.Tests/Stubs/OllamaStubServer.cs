using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Loom.Tests.Stubs;

/// <summary>Ollama <c>POST /api/chat</c>: one JSON object, or newline-delimited JSON objects ending with <c>"done": true</c>.</summary>
public sealed class OllamaStubServer : LlmStubServer
{
    private const string CreatedAt = "2026-11-29T12:00:00.000000000Z";

    private OllamaStubServer()
    {
    }

    public Uri Endpoint => Address;

    public static async Task<OllamaStubServer> StartAsync()
    {
        var server = new OllamaStubServer();
        await server.StartCoreAsync();
        return server;
    }

    protected override string StreamContentType => "application/x-ndjson";

    /// <summary>Ollama streams unless the request says "stream": false.</summary>
    protected override bool IsStreaming(JsonElement body) =>
        !(body.ValueKind == JsonValueKind.Object && body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.False);

    protected override void MapRoutes(WebApplication app) => app.MapPost("/api/chat", HandleAsync);

    protected override Task WriteCompleteAsync(HttpContext context, StubReply reply, string model) =>
        context.Response.WriteAsJsonAsync(Final(reply, model, reply.Text));

    protected override Task WriteChunkAsync(HttpContext context, string text, string model, bool first) =>
        Line(context, new Dictionary<string, object?>
        {
            ["model"] = model,
            ["created_at"] = CreatedAt,
            ["message"] = new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = text },
            ["done"] = false,
        });

    protected override Task WriteStreamEndAsync(HttpContext context, StubReply reply, string model) =>
        Line(context, Final(reply, model, ""));

    protected override Task WriteMalformedChunkAsync(HttpContext context) => WriteRawAsync(context, "{\"model\": \"broken\", \"message\": {\n");

    protected override Task WriteErrorAsync(HttpContext context, StubReply reply) =>
        context.Response.WriteAsJsonAsync(new Dictionary<string, object?> { ["error"] = reply.ErrorBody });

    private static Dictionary<string, object?> Final(StubReply reply, string model, string content)
    {
        var final = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["created_at"] = CreatedAt,
            ["message"] = new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = content },
            ["done"] = true,
            ["done_reason"] = reply.FinishReason,
            ["total_duration"] = 1_000_000,
            ["load_duration"] = 1_000,
            ["prompt_eval_duration"] = 1_000,
            ["eval_duration"] = 1_000,
        };
        if (reply.Usage is not null)
        {
            final["prompt_eval_count"] = reply.Usage.PromptTokens;
            final["eval_count"] = reply.Usage.CompletionTokens;
        }

        return final;
    }

    private static Task Line(HttpContext context, object payload) => WriteRawAsync(context, JsonSerializer.Serialize(payload) + "\n");
}
