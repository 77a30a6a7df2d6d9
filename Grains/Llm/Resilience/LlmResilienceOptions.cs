namespace Loom.Llm;

/// <summary>
/// How narration calls survive provider trouble, <c>Loom:Llm:Resilience</c>. Every provider gets its own
/// retry, timeout, circuit breaker and concurrency limiter built from these values, per silo.
/// </summary>
public sealed class LlmResilienceOptions
{
    /// <summary>Providers tried, in order, after the session's own provider fails transiently (before its first token).</summary>
    public List<string> Fallbacks { get; set; } = [];

    /// <summary>Retries per provider for 429/5xx/timeouts/connection failures.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>First backoff delay (exponential with jitter after that).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A Retry-After longer than this skips the remaining retries and moves to the next provider.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for an attempt's first token (the per-chunk gap is Loom:Llm:RequestTimeout).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Breaker opens when at least this share of attempts in <see cref="BreakerSamplingDuration"/> fail.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    public int BreakerMinimumThroughput { get; set; } = 8;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker refuses calls before it lets one probe through.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Concurrent calls per provider per silo. Narration calls are long, I/O-bound streams: at 1.5 s per answer a
    /// limit of N caps a silo at N / 1.5 turns per second, so the default leaves room for a few hundred players;
    /// lower it to match the provider account's own concurrency limit.
    /// </summary>
    public int MaxConcurrency { get; set; } = 256;

    /// <summary>Calls waiting for a slot per provider per silo; beyond it the provider counts as overloaded.</summary>
    public int QueueLimit { get; set; } = 1024;

    /// <summary>When every provider is overloaded the turn stays queued and runs again after this delay.</summary>
    public TimeSpan OverloadRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>USD per million tokens for one model.</summary>
public sealed class ModelPrice
{
    public decimal Input { get; set; }
    public decimal Output { get; set; }
    /// <summary>Cached prompt tokens; defaults to <see cref="Input"/>.</summary>
    public decimal? CachedInput { get; set; }
}
