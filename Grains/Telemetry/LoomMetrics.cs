using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Loom.Llm;

namespace Loom.Telemetry;

/// <summary>
/// LOOM's instruments on the "Loom" meter. One per process (register with <see cref="TelemetryServiceCollectionExtensions.AddLoomMetrics"/>).
/// Instrument names plus units are chosen so the OpenTelemetry Prometheus exporter (which appends the unit and,
/// for counters, <c>_total</c>) yields exactly the names the alerts and dashboard use; see <see cref="PrometheusNames"/>.
/// Labels never carry session or turn ids; caller-supplied values go through a <see cref="LabelGuard"/>.
/// </summary>
public sealed class LoomMetrics
{
    /// <summary>Turn latency buckets (seconds): the seed's dashboards' edges, plus 1.5 and 3 s so a p95 near a typical model's
    /// latency, and the KPI lines (LLM 3 s, turn 5 s), are bucket edges rather than interpolated across 2–5 s.</summary>
    public static IReadOnlyList<double> TurnDurationBuckets { get; } = [0.1, 0.5, 1, 1.5, 2, 3, 5, 10];

    /// <summary>Stage buckets: finer at the low end, where engine overhead (queue wait, prompt, commit) lives; 1.5 and 3 s as for turns.</summary>
    public static IReadOnlyList<double> StageDurationBuckets { get; } =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10];

    /// <summary>Cost per turn buckets (USD) around the seed's target of $0.01 per turn.</summary>
    public static IReadOnlyList<double> TurnCostBuckets { get; } = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

    /// <summary>Token efficiency buckets (a ratio), fine around the seed's target of 0.8.</summary>
    public static IReadOnlyList<double> TokenEfficiencyBuckets { get; } = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1];

    /// <summary>
    /// Error series exported at zero from the first scrape (the failure taxonomy turns report, and the gateway's
    /// server-side problems), so the
    /// HighErrorRate alert and the dashboard have data before the first error rather than "no data".
    /// </summary>
    public static IReadOnlyList<(string ErrorType, string Component)> SeededErrors { get; } =
    [
        (LlmErrorCodes.Unauthorized, "llm"), (LlmErrorCodes.BadRequest, "llm"), (LlmErrorCodes.RateLimited, "llm"),
        (LlmErrorCodes.Unavailable, "llm"), (LlmErrorCodes.Timeout, "llm"), (LlmErrorCodes.Unreachable, "llm"),
        (LlmErrorCodes.StreamBroken, "llm"), (LlmErrorCodes.ProviderUnknown, "llm"), (LlmErrorCodes.Failed, "llm"),
        ("turn_failed", "llm"), ("cluster_unavailable", "gateway"), ("storage_unavailable", "gateway"),
        ("internal_error", "gateway"),
    ];

    private readonly Histogram<double> _turnDuration;
    private readonly Histogram<double> _stageDuration;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _turnCost;
    private readonly Histogram<double> _tokenEfficiency;

    // Counters that must exist at zero from start-up are observable: a measurement of 0 made before the
    // MeterProvider listens would be dropped, whereas an observed total is reported on every collection.
    private readonly ConcurrentDictionary<string, long> _turnsProcessed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string ErrorType, string Component), long> _errors = new();
    private readonly Lock _costLock = new();
    private double _costUsd;
    private long _sessionsActive;
    private long _sessionsCreated;

    private readonly LabelGuard _statuses = new(16);
    private readonly Counter<long> _listReads;
    private readonly LabelGuard _providers = new(16);
    private readonly LabelGuard _models = new(64);
    private readonly LabelGuard _sessionTypes = new(16);
    private readonly LabelGuard _errorTypes = new(64);
    private readonly LabelGuard _components = new(32);
    private readonly LabelGuard _stages = new(TurnStages.All.Count + 4);

    public LoomMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(LoomTelemetry.MeterName);
        var resources = new ProcessResources();
        _turnsProcessed[TurnOutcomes.Completed] = 0;
        _turnsProcessed[TurnOutcomes.Failed] = 0;
        foreach (var (errorType, component) in SeededErrors)
        {
            _errors[(_errorTypes.Normalize(errorType), _components.Normalize(component))] = 0;
        }


        _turnDuration = meter.CreateHistogram("loom_turn_processing_duration", "s",
            "Time from a turn starting to run until it is committed or failed.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TurnDurationBuckets });
        meter.CreateObservableCounter("loom_turns_processed",
            () => _turnsProcessed.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("status", kv.Key))),
            null, "Turns finished, by status (completed, failed, or cancelled by the player).");
        _stageDuration = meter.CreateHistogram("loom_turn_stage_duration", "s",
            "Time spent in each stage of a turn: queue_wait, prompt_assembly, llm_first_token, llm_total, commit.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageDurationBuckets });
        meter.CreateObservableCounter("loom_errors",
            () => _errors.Select(kv => new Measurement<long>(kv.Value,
                new KeyValuePair<string, object?>("error_type", kv.Key.ErrorType),
                new KeyValuePair<string, object?>("component", kv.Key.Component))),
            null, "Errors by type and component.");
        meter.CreateObservableUpDownCounter("loom_sessions_active", () => Interlocked.Read(ref _sessionsActive), null,
            "Session grains active on this process.");
        meter.CreateObservableCounter("loom_sessions_created", () => Interlocked.Read(ref _sessionsCreated), null,
            "Sessions created.");
        _listReads = meter.CreateCounter<long>("loom_session_list_reads", null,
            "Sessions read for owners' session lists, by source: grain (the session's activation) or replica (the read replica's row).");
        _tokens = meter.CreateCounter<long>("loom_llm_tokens_used", null, "LLM tokens (prompt + completion) by provider and model.");
        _turnCost = meter.CreateHistogram("loom_turn_cost_usd", null,
            "Estimated LLM cost of each completed turn (its narrator call and any summary written during it), from Loom:Llm:Pricing.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TurnCostBuckets });
        _tokenEfficiency = meter.CreateHistogram("loom_token_efficiency", null,
            "Per completed turn: narrative tokens the player got divided by the completion tokens billed for the turn (docs/observability.md).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TokenEfficiencyBuckets });
        meter.CreateObservableCounter("loom_cost_usd", () => { lock (_costLock) { return _costUsd; } }, null,
            "Estimated LLM spend in US dollars.");

        meter.CreateObservableGauge("loom_memory_usage", () => ProcessResources.MemoryUsageBytes, "By",
            "Resident memory of this process.");
        meter.CreateObservableGauge("loom_memory_limit", () => resources.MemoryLimitBytes, "By",
            "Memory limit of this process's container (cgroup), else the machine's RAM.");
        meter.CreateObservableGauge("loom_cpu_usage", resources.CpuUsagePercent, "%",
            "CPU used by this process since the previous scrape, in percent of the CPUs it may use.");
    }

    /// <summary>A turn finished (<paramref name="status"/>: <see cref="TurnOutcomes"/>), taking <paramref name="seconds"/> to run.</summary>
    public void TurnProcessed(string status, string provider, string sessionType, double seconds)
    {
        _turnsProcessed.AddOrUpdate(_statuses.Normalize(status), 1, static (_, n) => n + 1);
        _turnDuration.Record(Math.Max(0, seconds),
            new KeyValuePair<string, object?>("session_type", _sessionTypes.Normalize(sessionType)),
            new KeyValuePair<string, object?>("llm_provider", _providers.Normalize(provider)));
    }

    /// <summary>Time spent in one stage of a turn (<paramref name="stage"/>: <see cref="TurnStages"/>).</summary>
    /// <summary>A committed turn: its outcome and latency, and its tokens and cost or its error.</summary>
    public void TurnCommitted(Turns.TurnView turn, string sessionType)
    {
        var provider = turn.Provider ?? "unknown";
        var completed = turn.Status == Turns.TurnStatus.Completed;
        if (!completed && turn.Error?.Code == Turns.TurnError.CancelledCode)
        {
            // A player's stop is no fault: it must not feed the error alert, nor a 0 s sample into the turn latency.
            _turnsProcessed.AddOrUpdate(TurnOutcomes.Cancelled, 1, static (_, n) => n + 1);
            return;
        }
        TurnProcessed(completed ? TurnOutcomes.Completed : TurnOutcomes.Failed, provider, sessionType, (turn.LatencyMs ?? 0) / 1000.0);
        if (completed)
        {
            Tokens(provider, turn.Model ?? "unknown", turn.Usage.PromptTokens + turn.Usage.CompletionTokens);
            if (turn.Usage.CostUsd > 0) Cost(turn.Usage.CostUsd);
        }
        else
        {
            Error(turn.Error?.Code ?? "turn_failed", "llm");
        }
    }

    public void Stage(string stage, double seconds) =>
        _stageDuration.Record(Math.Max(0, seconds), new KeyValuePair<string, object?>("stage", _stages.Normalize(stage)));

    /// <summary>Stage time measured from a <see cref="Stopwatch.GetTimestamp"/> value until now.</summary>
    public void StageSince(string stage, long startTimestamp) =>
        Stage(stage, Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    /// <summary>An error worth alerting on (e.g. type "llm_timeout", component "llm"; type "storage", component "session").</summary>
    public void Error(string errorType, string component) =>
        _errors.AddOrUpdate((_errorTypes.Normalize(errorType), _components.Normalize(component)), 1, static (_, n) => n + 1);

    public void SessionCreated() => Interlocked.Increment(ref _sessionsCreated);

    /// <summary>Sessions an owner's list read through their grains and from the read replica.</summary>
    public void SessionsListed(int fromGrains, int fromReplica)
    {
        if (fromGrains > 0) _listReads.Add(fromGrains, new KeyValuePair<string, object?>("source", "grain"));
        if (fromReplica > 0) _listReads.Add(fromReplica, new KeyValuePair<string, object?>("source", "replica"));
    }

    /// <summary>Call from the session grain's OnActivateAsync; pair with <see cref="SessionDeactivated"/>.</summary>
    public void SessionActivated() => Interlocked.Increment(ref _sessionsActive);

    public void SessionDeactivated() => Interlocked.Decrement(ref _sessionsActive);

    public void Tokens(string provider, string model, long count)
    {
        if (count <= 0)
        {
            return;
        }

        _tokens.Add(count,
            new KeyValuePair<string, object?>("provider", _providers.Normalize(provider)),
            new KeyValuePair<string, object?>("model", _models.Normalize(model)));
    }

    /// <summary>
    /// The per-turn KPIs of a completed turn: its cost (0 when the model has no price), and its token efficiency,
    /// <paramref name="narrativeTokens"/> ÷ <paramref name="completionTokens"/> capped at 1 (the two may come from
    /// different tokenizers), skipped when no completion tokens were billed.
    /// </summary>
    public void TurnCompleted(string provider, string model, decimal costUsd, long completionTokens, long narrativeTokens)
    {
        var providerTag = new KeyValuePair<string, object?>("provider", _providers.Normalize(provider));
        var modelTag = new KeyValuePair<string, object?>("model", _models.Normalize(model));
        _turnCost.Record((double)Math.Max(0m, costUsd), providerTag, modelTag);
        if (completionTokens > 0)
        {
            _tokenEfficiency.Record(Math.Clamp((double)Math.Max(0, narrativeTokens) / completionTokens, 0, 1), providerTag, modelTag);
        }
    }

    public void Cost(decimal usd)
    {
        if (usd > 0)
        {
            lock (_costLock)
            {
                _costUsd += (double)usd;
            }
        }
    }
}
