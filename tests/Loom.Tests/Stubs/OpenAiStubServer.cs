using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Loom.Tests.Stubs;

/// <summary>OpenAI-compatible <c>POST /v1/chat/completions</c>: JSON, or SSE chunks + usage chunk + <c>[DONE]</c>.</summary>
public sealed class OpenAiStubServer : LlmStubServer
{
    private const long Created = 1_700_000_000;

    private OpenAiStubServer()
    {
    }

    /// <summary>The value for <c>Loom:Llm:Endpoint</c> (the OpenAI SDK appends /chat/completions).</summary>
    public Uri Endpoint => new(Address, "v1");

    public static async Task<OpenAiStubServer> StartAsync()
    {
        var server = new OpenAiStubServer();
        await server.StartCoreAsync();
        return server;
    }

    protected override void MapRoutes(WebApplication app) => app.MapPost("/v1/chat/completions", HandleAsync);

    protected override Task WriteCompleteAsync(HttpContext context, StubReply reply, string model) =>
        context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["id"] = "chatcmpl-stub",
            ["object"] = "chat.completion",
            ["created"] = Created,
            ["model"] = model,
            ["choices"] = new object[]
            {
                new Dictionary<string, object?>
                {
                    ["index"] = 0,
                    ["message"] = new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = reply.Text },
                    ["finish_reason"] = reply.FinishReason,
                },
            },
            ["usage"] = Usage(reply.Usage),
        });

    protected override Task WriteChunkAsync(HttpContext context, string text, string model, bool first)
    {
        var delta = first
            ? new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = text }
            : new Dictionary<string, object?> { ["content"] = text };
        return WriteSseAsync(context, Envelope(model, [new Dictionary<string, object?> { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = null }]));
    }

    protected override async Task WriteStreamEndAsync(HttpContext context, StubReply reply, string model)
    {
        await WriteSseAsync(context, Envelope(model,
            [new Dictionary<string, object?> { ["index"] = 0, ["delta"] = new Dictionary<string, object?>(), ["finish_reason"] = reply.FinishReason }]));
        if (reply.Usage is not null)
        {
            var usageChunk = Envelope(model, []);
            usageChunk["usage"] = Usage(reply.Usage);
            await WriteSseAsync(context, usageChunk);
        }

        await WriteRawAsync(context, "data: [DONE]\n\n");
    }

    protected override Task WriteErrorAsync(HttpContext context, StubReply reply) =>
        context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["error"] = new Dictionary<string, object?>
            {
                ["message"] = reply.ErrorBody,
                ["type"] = reply.Status == 429 ? "rate_limit_exceeded" : "stub_error",
                ["code"] = reply.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });

    private static Dictionary<string, object?> Envelope(string model, object[] choices) => new()
    {
        ["id"] = "chatcmpl-stub",
        ["object"] = "chat.completion.chunk",
        ["created"] = Created,
        ["model"] = model,
        ["choices"] = choices,
    };

    private static Dictionary<string, object?>? Usage(StubUsage? usage) => usage is null
        ? null
        : new Dictionary<string, object?>
        {
            ["prompt_tokens"] = usage.PromptTokens,
            ["completion_tokens"] = usage.CompletionTokens,
            ["total_tokens"] = usage.PromptTokens + usage.CompletionTokens,
            ["prompt_tokens_details"] = usage.CachedTokens is { } cached ? new Dictionary<string, object?> { ["cached_tokens"] = cached } : null,
        };
}
