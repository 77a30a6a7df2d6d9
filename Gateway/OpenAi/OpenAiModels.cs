using System.Text.Json;
using System.Text.Json.Serialization;
using Loom.Turns;

namespace Loom.Gateway.OpenAi;

// The wire shapes of OpenAI's Chat Completions API that LOOM speaks (snake_case names as OpenAI spells them).

public sealed record ChatCompletionBody(
    string? Model,
    List<ChatMessageBody>? Messages,
    bool? Stream,
    string? User,
    [property: JsonPropertyName("stream_options")] StreamOptionsBody? StreamOptions,
    int? N);

public sealed record ChatMessageBody(string? Role, JsonElement Content);

public sealed record StreamOptionsBody([property: JsonPropertyName("include_usage")] bool? IncludeUsage);

public sealed record ModelList(IReadOnlyList<ModelEntry> Data)
{
    public string Object => "list";
}

public sealed record ModelEntry(
    string Id,
    long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy)
{
    public string Object => "model";
}

public sealed record CompletionUsage(
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("total_tokens")] long TotalTokens)
{
    public static CompletionUsage From(Loom.Sessions.Usage usage) =>
        new(usage.PromptTokens, usage.CompletionTokens, usage.PromptTokens + usage.CompletionTokens);
}

public sealed record AssistantMessage(string Content)
{
    public string Role => "assistant";
    public string? Refusal => null;
}

public sealed record CompletionChoice(
    int Index,
    AssistantMessage Message,
    [property: JsonPropertyName("finish_reason")] string FinishReason)
{
    public object? Logprobs => null;
}

public sealed record ChatCompletion(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<CompletionChoice> Choices,
    CompletionUsage Usage)
{
    public string Object => "chat.completion";

    public static ChatCompletion From(TurnView turn, string model) =>
        new(CompletionId(turn), UnixTime(turn.CreatedAt), model,
            [new CompletionChoice(0, new AssistantMessage(turn.Narrative), "stop")], CompletionUsage.From(turn.Usage));

    public static string CompletionId(TurnView turn) => "chatcmpl-" + turn.TurnId;

    public static long UnixTime(DateTime utc) => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToUnixTimeSeconds();
}

public sealed record ChunkDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

public sealed record ChunkChoice(
    int Index,
    ChunkDelta Delta,
    [property: JsonPropertyName("finish_reason")] string? FinishReason)
{
    public object? Logprobs => null;
}

public sealed record ChatCompletionChunk(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CompletionUsage? Usage = null)
{
    public string Object => "chat.completion.chunk";
}

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAiError(OpenAiErrorBody Error);

public sealed record OpenAiErrorBody(string Message, string Type, string? Param, string? Code);
