using System.Globalization;
using System.Text.Json;

namespace Loom.LoadTests.FakeLlm;

/// <summary>The providers' wire formats the fake model speaks.</summary>
public enum FakeWireFormat
{
    /// <summary>OpenAI chat completions: <c>POST /v1/chat/completions</c>.</summary>
    OpenAi = 0,

    /// <summary>Anthropic messages: <c>POST /v1/messages</c>.</summary>
    Anthropic = 1,

    /// <summary>Ollama chat: <c>POST /api/chat</c>.</summary>
    Ollama = 2,
}

/// <summary>Token counts the fake reports, as the provider would in its usage fields.</summary>
public sealed record FakeUsage(int PromptTokens, int CompletionTokens);

/// <summary>One answer written in one provider's shape: a whole response, or a stream's start, chunks and end.</summary>
public abstract class FakeWire(string model)
{
    protected static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected string Model { get; } = model;

    public abstract string StreamContentType { get; }

    public static FakeWire For(FakeWireFormat format, string model) => format switch
    {
        FakeWireFormat.Anthropic => new AnthropicWire(model),
        FakeWireFormat.Ollama => new OllamaWire(model),
        _ => new OpenAiWire(model),
    };

    /// <summary>The non-streamed answer.</summary>
    public abstract string Complete(string text, FakeUsage usage);

    /// <summary>Written before the first chunk (empty when the format has no preamble).</summary>
    public virtual string Start(FakeUsage usage) => "";

    public abstract string Chunk(string text, bool first);

    /// <summary>The stream's end: finish reason and usage.</summary>
    public abstract string End(FakeUsage usage);

    protected static string Sse(object payload) => "data: " + JsonSerializer.Serialize(payload, Json) + "\n\n";

    private sealed class OpenAiWire(string model) : FakeWire(model)
    {
        private readonly string _id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
        private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        public override string StreamContentType => "text/event-stream";

        private object Usage(FakeUsage u) => new { prompt_tokens = u.PromptTokens, completion_tokens = u.CompletionTokens, total_tokens = u.PromptTokens + u.CompletionTokens };

        public override string Complete(string text, FakeUsage usage) => JsonSerializer.Serialize(new
        {
            id = _id, @object = "chat.completion", created = _created, model = Model,
            choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
            usage = Usage(usage),
        }, Json);

        public override string Chunk(string text, bool first)
        {
            object delta = first ? new { role = "assistant", content = text } : new { content = text };
            return Sse(new
            {
                id = _id, @object = "chat.completion.chunk", created = _created, model = Model,
                choices = new[] { new { index = 0, delta, finish_reason = (string?)null } },
            });
        }

        // Usage arrives in a final chunk with no choices, as OpenAI sends it for stream_options.include_usage.
        public override string End(FakeUsage usage) =>
            Sse(new { id = _id, @object = "chat.completion.chunk", created = _created, model = Model, choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } })
            + Sse(new { id = _id, @object = "chat.completion.chunk", created = _created, model = Model, choices = Array.Empty<object>(), usage = Usage(usage) })
            + "data: [DONE]\n\n";
    }

    private sealed class AnthropicWire(string model) : FakeWire(model)
    {
        private readonly string _id = "msg_" + Guid.NewGuid().ToString("N")[..24];

        public override string StreamContentType => "text/event-stream";

        private static object Usage(int input, int output) => new { input_tokens = input, output_tokens = output, cache_creation_input_tokens = 0, cache_read_input_tokens = 0 };

        private static string Event(string name, object payload) => $"event: {name}\n" + Sse(payload);

        public override string Complete(string text, FakeUsage usage) => JsonSerializer.Serialize(new
        {
            id = _id, type = "message", role = "assistant", model = Model,
            content = new[] { new { type = "text", text } },
            stop_reason = "end_turn", stop_sequence = (string?)null,
            usage = Usage(usage.PromptTokens, usage.CompletionTokens),
        }, Json);

        public override string Start(FakeUsage usage) =>
            Event("message_start", new
            {
                type = "message_start",
                message = new
                {
                    id = _id, type = "message", role = "assistant", model = Model, content = Array.Empty<object>(),
                    stop_reason = (string?)null, stop_sequence = (string?)null, usage = Usage(usage.PromptTokens, 1),
                },
            })
            + Event("content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });

        public override string Chunk(string text, bool first) =>
            Event("content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text } });

        public override string End(FakeUsage usage) =>
            Event("content_block_stop", new { type = "content_block_stop", index = 0 })
            + Event("message_delta", new { type = "message_delta", delta = new { stop_reason = "end_turn", stop_sequence = (string?)null }, usage = Usage(usage.PromptTokens, usage.CompletionTokens) })
            + Event("message_stop", new { type = "message_stop" });
    }

    private sealed class OllamaWire(string model) : FakeWire(model)
    {
        private readonly string _createdAt = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

        public override string StreamContentType => "application/x-ndjson";

        private Dictionary<string, object?> Final(string content, FakeUsage usage) => new()
        {
            ["model"] = Model,
            ["created_at"] = _createdAt,
            ["message"] = new { role = "assistant", content },
            ["done"] = true,
            ["done_reason"] = "stop",
            ["prompt_eval_count"] = usage.PromptTokens,
            ["eval_count"] = usage.CompletionTokens,
        };

        public override string Complete(string text, FakeUsage usage) => JsonSerializer.Serialize(Final(text, usage), Json);

        public override string Chunk(string text, bool first) =>
            JsonSerializer.Serialize(new { model = Model, created_at = _createdAt, message = new { role = "assistant", content = text }, done = false }, Json) + "\n";

        public override string End(FakeUsage usage) => JsonSerializer.Serialize(Final("", usage), Json) + "\n";
    }
}
