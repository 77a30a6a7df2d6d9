using System.Diagnostics.Metrics;
using Loom.Telemetry;

namespace Loom.Llm;

/// <summary>Resilience counters of the narration chain (provider and code labels are bounded sets).</summary>
public sealed class LlmRouterMetrics
{
    private readonly Counter<long> _retries;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _attemptFailures;

    public LlmRouterMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(LoomTelemetry.MeterName);
        _retries = meter.CreateCounter<long>("loom_llm_retries", null, "Retried LLM attempts before an answer started, by provider that answered.");
        _fallbacks = meter.CreateCounter<long>("loom_llm_fallbacks", null, "Moves to the next provider in the fallback chain.");
        _attemptFailures = meter.CreateCounter<long>("loom_llm_attempt_failures", null, "Failed LLM provider calls by provider and error code.");
    }

    public void Answered(string provider, int retries, int fallbacks)
    {
        if (retries > 0)
        {
            _retries.Add(retries, new KeyValuePair<string, object?>("provider", Provider(provider)));
        }
    }

    public void Fallback(string from, string to, string code) =>
        _fallbacks.Add(1,
            new KeyValuePair<string, object?>("from", Provider(from)),
            new KeyValuePair<string, object?>("to", Provider(to)),
            new KeyValuePair<string, object?>("code", code));

    public void AttemptFailed(string provider, string code) =>
        _attemptFailures.Add(1,
            new KeyValuePair<string, object?>("provider", Provider(provider)),
            new KeyValuePair<string, object?>("code", code));

    private static string Provider(string provider) => LlmProviders.IsSupported(provider) ? provider : "unknown";
}
