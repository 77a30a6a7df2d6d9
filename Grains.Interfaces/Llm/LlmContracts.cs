namespace Loom.Llm;

public enum LlmRole { System, User, Assistant }

[GenerateSerializer, Alias("loom.LlmMessage")]
public sealed record LlmMessage
{
    [Id(0)] public required LlmRole Role { get; init; }
    [Id(1)] public required string Content { get; init; }
}

/// <summary>A narration request: the assembled prompt plus the resolved settings.</summary>
[GenerateSerializer, Alias("loom.LlmRequest")]
public sealed record LlmRequest
{
    [Id(0)] public required string Provider { get; init; }
    [Id(1)] public required string Model { get; init; }
    [Id(2)] public double? Temperature { get; init; }
    [Id(3)] public int? MaxTokens { get; init; }
    [Id(4)] public List<LlmMessage> Messages { get; init; } = [];
    /// <summary>For logs and tracing only; never sent to the provider.</summary>
    [Id(5)] public string? SessionId { get; init; }
}

/// <summary>A streamed piece of the answer. The last chunk has <see cref="Final"/> set and carries usage.</summary>
[GenerateSerializer, Alias("loom.LlmChunk")]
public sealed record LlmChunk
{
    [Id(0)] public string Text { get; init; } = "";
    [Id(1)] public bool Final { get; init; }
    [Id(2)] public long? PromptTokens { get; init; }
    [Id(3)] public long? CompletionTokens { get; init; }
    [Id(4)] public long? CachedTokens { get; init; }
    [Id(5)] public bool UsageEstimated { get; init; }
    [Id(6)] public string? Provider { get; init; }
    [Id(7)] public string? Model { get; init; }
    [Id(8)] public string? FinishReason { get; init; }
    /// <summary>Priced from <c>Loom:Llm:Pricing</c>; 0 when the model has no price.</summary>
    [Id(9)] public decimal CostUsd { get; init; }
    /// <summary>Retried attempts (all providers) before this answer started.</summary>
    [Id(10)] public int Retries { get; init; }
    /// <summary>Providers given up on before the one that answered.</summary>
    [Id(11)] public int Fallbacks { get; init; }
    /// <summary>Served from the response cache (Loom:Llm:Cache): no provider call, no cost.</summary>
    [Id(12)] public bool CacheHit { get; init; }
}

/// <summary>
/// A whole answer, for a caller that shows nothing before the end: the text, the final chunk (usage, provider, model)
/// and how long the first text took from the start of the call.
/// </summary>
[GenerateSerializer, Alias("loom.LlmAnswer")]
public sealed record LlmAnswer
{
    [Id(0)] public string Text { get; init; } = "";
    [Id(1)] public LlmChunk? Final { get; init; }
    /// <summary>From the start of the call to the first text; null when the answer had none.</summary>
    [Id(2)] public TimeSpan? FirstText { get; init; }
}

/// <summary>A failed LLM call, classified so the session can record it and the resilience layer can decide.</summary>
[GenerateSerializer, Alias("loom.LlmCallException")]
public sealed class LlmCallException : Exception
{
    public LlmCallException(string code, string message, bool transient, TimeSpan? retryAfter = null) : base(message)
    {
        Code = code;
        Transient = transient;
        RetryAfter = retryAfter;
    }

    /// <summary>e.g. llm_unauthorized, llm_rate_limited, llm_unavailable, llm_timeout, llm_bad_request, llm_stream_broken.</summary>
    [Id(0)] public string Code { get; }
    [Id(1)] public bool Transient { get; }
    /// <summary>The provider's Retry-After, when it sent one.</summary>
    [Id(2)] public TimeSpan? RetryAfter { get; }
    /// <summary>Retried attempts across the fallback chain before this failure.</summary>
    [Id(3)] public int Retries { get; init; }
    /// <summary>Providers given up on before the one that failed last.</summary>
    [Id(4)] public int Fallbacks { get; init; }
}

/// <summary>
/// Runs LLM calls (I/O bound) as a reentrant stateless worker on the calling silo. Streams the answer so the
/// session can publish narration as it arrives; cancellation flows through to the provider call.
/// </summary>
public interface ILlmGrain : IGrainWithIntegerKey
{
    [ResponseTimeout("00:05:00")]
    IAsyncEnumerable<LlmChunk> Stream(LlmRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same call answered in one piece: one grain call, where a stream is one per chunk the provider sends. For
    /// answers nobody watches arrive (rolling summaries, turns of a session without watchers).
    /// </summary>
    /// <remarks>The whole answer is one call, so its timeout bounds the answer's length, which a stream's per-chunk call
    /// does not: a slow local model writing a long answer runs well past five minutes. A stalled provider is caught by
    /// <c>Loom:Llm:RequestTimeout</c> (the longest gap between pieces) inside the worker; this only bounds a lost one.</remarks>
    [ResponseTimeout("00:30:00")]
    Task<LlmAnswer> Complete(LlmRequest request, CancellationToken cancellationToken = default);
}
