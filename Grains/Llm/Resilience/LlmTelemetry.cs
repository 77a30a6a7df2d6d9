namespace Loom.Llm;

/// <summary>Telemetry names of the narration pipeline (the GenAI spans/metrics and Polly's resilience events).</summary>
public static class LlmTelemetry
{
    /// <summary>ActivitySource and Meter of the IChatClient OpenTelemetry middleware (GenAI semantic conventions).</summary>
    public const string SourceName = "Loom.Llm";

    /// <summary>Meter of Polly's resilience events (retries, breaker transitions, timeouts).</summary>
    public const string PollyMeterName = "Polly";
}
