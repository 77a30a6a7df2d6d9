using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Loom.Tests.Stubs;

/// <summary>Anthropic Messages API, <c>POST /v1/messages</c>: JSON, or the named SSE events of a streamed message.</summary>
public sealed class AnthropicStubServer : LlmStubServer
{
    private AnthropicStubServer()
    {
    }

    /// <summary>The value for <c>Loom:Llm:Providers:anthropic:Endpoint</c> (the SDK appends /v1/messages).</summary>
    public Uri Endpoint => Address;

    public static async Task<AnthropicStubServer> StartAsync()
    {
        var server = new AnthropicStubServer();
        await server.StartCoreAsync();
        return server;
    }

    protected override void MapRoutes(WebApplication app) => app.MapPost("/v1/messages", HandleAsync);

    protected override Task WriteCompleteAsync(HttpContext context, StubReply reply, string model) =>
        context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["id"] = "msg_stub",
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = model,
            ["content"] = new object[] { new Dictionary<string, object?> { ["type"] = "text", ["text"] = reply.Text } },
            ["stop_reason"] = StopReason(reply),
            ["stop_sequence"] = null,
            ["usage"] = Usage(reply.Usage, reply.Usage?.CompletionTokens ?? 0),
        });

    protected override async Task WriteStreamStartAsync(HttpContext context, StubReply reply, string model)
    {
        await Event(context, "message_start", new Dictionary<string, object?>
        {
            ["type"] = "message_start",
            ["message"] = new Dictionary<string, object?>
            {
                ["id"] = "msg_stub",
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = model,
                ["content"] = Array.Empty<object>(),
                ["stop_reason"] = null,
                ["stop_sequence"] = null,
                ["usage"] = Usage(reply.Usage, 1),
            },
        });
        await Event(context, "content_block_start", new Dictionary<string, object?>
        {
            ["type"] = "content_block_start",
            ["index"] = 0,
            ["content_block"] = new Dictionary<string, object?> { ["type"] = "text", ["text"] = "" },
        });
    }

    protected override Task WriteChunkAsync(HttpContext context, string text, string model, bool first) =>
        Event(context, "content_block_delta", new Dictionary<string, object?>
        {
            ["type"] = "content_block_delta",
            ["index"] = 0,
            ["delta"] = new Dictionary<string, object?> { ["type"] = "text_delta", ["text"] = text },
        });

    protected override async Task WriteStreamEndAsync(HttpContext context, StubReply reply, string model)
    {
        await Event(context, "content_block_stop", new Dictionary<string, object?> { ["type"] = "content_block_stop", ["index"] = 0 });
        await Event(context, "message_delta", new Dictionary<string, object?>
        {
            ["type"] = "message_delta",
            ["delta"] = new Dictionary<string, object?> { ["stop_reason"] = StopReason(reply), ["stop_sequence"] = null },
            ["usage"] = reply.Usage is null ? new Dictionary<string, object?> { ["output_tokens"] = 0 } : Usage(reply.Usage, reply.Usage.CompletionTokens),
        });
        await Event(context, "message_stop", new Dictionary<string, object?> { ["type"] = "message_stop" });
    }

    protected override Task WriteMalformedChunkAsync(HttpContext context) =>
        WriteRawAsync(context, "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"delta\": {\n\n");

    protected override Task WriteErrorAsync(HttpContext context, StubReply reply) =>
        context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["type"] = "error",
            ["error"] = new Dictionary<string, object?>
            {
                ["type"] = reply.Status switch
                {
                    401 => "authentication_error",
                    429 => "rate_limit_error",
                    529 => "overloaded_error",
                    >= 500 => "api_error",
                    _ => "invalid_request_error",
                },
                ["message"] = reply.ErrorBody,
            },
        });

    private static string StopReason(StubReply reply) => reply.FinishReason switch
    {
        "stop" => "end_turn",
        "length" => "max_tokens",
        "content_filter" => "refusal",
        var other => other,
    };

    private static async Task Event(HttpContext context, string name, object payload)
    {
        await WriteRawAsync(context, $"event: {name}\n");
        await WriteSseAsync(context, payload);
    }

    private static Dictionary<string, object?> Usage(StubUsage? usage, int outputTokens) => new()
    {
        ["input_tokens"] = usage?.PromptTokens ?? 0,
        ["output_tokens"] = outputTokens,
        ["cache_creation_input_tokens"] = 0,
        ["cache_read_input_tokens"] = usage?.CachedTokens ?? 0,
    };
}
