namespace Loom.Llm;

/// <summary>The failure taxonomy of <see cref="LlmCallException.Code"/>.</summary>
public static class LlmErrorCodes
{
    /// <summary>401/403: the key is wrong or lacks access. Not transient.</summary>
    public const string Unauthorized = "llm_unauthorized";

    /// <summary>400/404/422 and other 4xx: the request (model, parameters, content) was refused. Not transient.</summary>
    public const string BadRequest = "llm_bad_request";

    /// <summary>429. Transient.</summary>
    public const string RateLimited = "llm_rate_limited";

    /// <summary>5xx. Transient.</summary>
    public const string Unavailable = "llm_unavailable";

    /// <summary>No first token, or no next chunk, within Loom:Llm:RequestTimeout. Transient.</summary>
    public const string Timeout = "llm_timeout";

    /// <summary>The endpoint could not be reached (DNS, refused, reset before an answer). Transient.</summary>
    public const string Unreachable = "llm_unreachable";

    /// <summary>The answer broke off or could not be parsed. Transient (a retry before the first token may work).</summary>
    public const string StreamBroken = "llm_stream_broken";

    /// <summary>The turn's provider is not configured on this silo. Not transient.</summary>
    public const string ProviderUnknown = "llm_provider_unknown";

    /// <summary>The provider declined to write the content (content filter / refusal). Not transient, no fallback.</summary>
    public const string ContentRefused = "llm_content_refused";

    /// <summary>Every provider in the chain is at its concurrency limit with a full queue: the turn waits and runs later.</summary>
    public const string Overloaded = "llm_overloaded";

    /// <summary>The provider's circuit breaker is open after repeated failures. Transient.</summary>
    public const string CircuitOpen = "llm_circuit_open";

    /// <summary>Anything else. Not transient.</summary>
    public const string Failed = "llm_failed";
}
