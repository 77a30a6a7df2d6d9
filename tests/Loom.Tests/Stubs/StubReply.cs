namespace Loom.Tests.Stubs;

/// <summary>Token counts a stub reports; null fields are left out of the wire format.</summary>
public sealed record StubUsage(int PromptTokens, int CompletionTokens, int? CachedTokens = null);

/// <summary>How a scripted reply misbehaves.</summary>
public enum StubFault
{
    None,
    /// <summary>Syntactically broken JSON (whole body, or one streamed event).</summary>
    MalformedJson,
    /// <summary>Stream <see cref="StubReply.ResetAfterChunks"/> chunks, then abort the connection.</summary>
    ResetMidStream,
}

/// <summary>One scripted answer of a stub LLM server (success, HTTP error, delay or fault).</summary>
public sealed record StubReply
{
    public string Text { get; init; } = "Hello from the stub narrator.";
    /// <summary>The model the answer names (a dated snapshot); the model asked for when null.</summary>
    public string? AnsweredBy { get; init; }
    /// <summary>Words per streamed chunk.</summary>
    public int WordsPerChunk { get; init; } = 2;
    public StubUsage? Usage { get; init; } = new(11, 7, 3);
    public int Status { get; init; } = 200;
    public string? ErrorBody { get; init; }
    public Dictionary<string, string> Headers { get; init; } = [];
    /// <summary>Wait before the status line is sent.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>Held until this task completes (after <see cref="Delay"/>), before the status line is sent.</summary>
    public Task? Gate { get; init; }
    /// <summary>Wait between streamed chunks.</summary>
    public TimeSpan ChunkDelay { get; init; }
    public StubFault Fault { get; init; }
    public int ResetAfterChunks { get; init; } = 2;
    public string FinishReason { get; init; } = "stop";

    public static StubReply Ok(string text, StubUsage? usage = null) => new() { Text = text, Usage = usage ?? new(11, 7, 3) };

    public static StubReply WithoutUsage(string text) => new() { Text = text, Usage = null };

    public static StubReply Error(int status, string? message = null, int? retryAfterSeconds = null) => new()
    {
        Status = status,
        ErrorBody = message ?? $"stub error {status}",
        Headers = retryAfterSeconds is { } s ? new() { ["Retry-After"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [],
    };

    public static StubReply Slow(TimeSpan delay, string text = "Finally, an answer.") => new() { Text = text, Delay = delay };

    public static StubReply Malformed() => new() { Fault = StubFault.MalformedJson };

    public static StubReply ResetAfter(int chunks, string text = "one two three four five six seven eight nine ten") =>
        new() { Text = text, Fault = StubFault.ResetMidStream, ResetAfterChunks = chunks };
}

/// <summary>What a stub server received.</summary>
public sealed record StubRequest(string Path, string Body, bool Stream, string? Model, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>When the stub read the request (before any scripted delay).</summary>
    public DateTime ReceivedAt { get; init; } = DateTime.UtcNow;
}
