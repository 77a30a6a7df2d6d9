using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Loom.Telemetry;

/// <summary>
/// LOOM's instruments on the "Loom" meter. One per process (register with <see cref="TelemetryServiceCollectionExtensions.AddLoomMetrics"/>).
/// Instrument names plus units are chosen so the OpenTelemetry Prometheus exporter (which appends the unit and,
/// for counters, <c>_total</c>) yields exactly the names the alerts and dashboard use; see <see cref="PrometheusNames"/>.
/// Labels never carry session or turn ids; caller-supplied values go through a <see cref="LabelGuard"/>.
/// </summary>
public sealed class LoomMetrics
{
    /// <summary>Turn latency buckets (seconds) agreed with the seed's dashboards.</summary>
    public static IReadOnlyList<double> TurnDurationBuckets { get; } = [0.1, 0.5, 1, 2, 5, 10];

    /// <summary>Stage buckets: finer at the low end, where engine overhead (queue wait, prompt, commit) lives.</summary>
    public static IReadOnlyList<double> StageDurationBuckets { get; } =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

    private readonly Histogram<double> _turnDuration;
    private readonly Counter<long> _turnsProcessed;
    private readonly Histogram<double> _stageDuration;
    private readonly Counter<long> _errors;
    private readonly UpDownCounter<long> _sessionsActive;
    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;

    private readonly LabelGuard _statuses = new(16);
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

        _turnDuration = meter.CreateHistogram("loom_turn_processing_duration", "s",
            "Time from a turn starting to run until it is committed or failed.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TurnDurationBuckets });
        _turnsProcessed = meter.CreateCounter<long>("loom_turns_processed", null,
            "Turns finished, by status (completed or failed).");
        _stageDuration = meter.CreateHistogram("loom_turn_stage_duration", "s",
            "Time spent in each stage of a turn: queue_wait, prompt_assembly, llm_first_token, llm_total, commit.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageDurationBuckets });
        _errors = meter.CreateCounter<long>("loom_errors", null, "Errors by type and component.");
        _sessionsActive = meter.CreateUpDownCounter<long>("loom_sessions_active", null,
            "Session grains active on this process.");
        _sessionsCreated = meter.CreateCounter<long>("loom_sessions_created", null, "Sessions created.");
        _tokens = meter.CreateCounter<long>("loom_llm_tokens_used", null, "LLM tokens (prompt + completion) by provider and model.");
        _cost = meter.CreateCounter<double>("loom_cost_usd", null, "Estimated LLM spend in US dollars.");

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
        _turnsProcessed.Add(1, new KeyValuePair<string, object?>("status", _statuses.Normalize(status)));
        _turnDuration.Record(Math.Max(0, seconds),
            new KeyValuePair<string, object?>("session_type", _sessionTypes.Normalize(sessionType)),
            new KeyValuePair<string, object?>("llm_provider", _providers.Normalize(provider)));
    }

    /// <summary>Time spent in one stage of a turn (<paramref name="stage"/>: <see cref="TurnStages"/>).</summary>
    public void Stage(string stage, double seconds) =>
        _stageDuration.Record(Math.Max(0, seconds), new KeyValuePair<string, object?>("stage", _stages.Normalize(stage)));

    /// <summary>Stage time measured from a <see cref="Stopwatch.GetTimestamp"/> value until now.</summary>
    public void StageSince(string stage, long startTimestamp) =>
        Stage(stage, Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    /// <summary>An error worth alerting on (e.g. type "llm_timeout", component "llm"; type "storage", component "session").</summary>
    public void Error(string errorType, string component) =>
        _errors.Add(1,
            new KeyValuePair<string, object?>("error_type", _errorTypes.Normalize(errorType)),
            new KeyValuePair<string, object?>("component", _components.Normalize(component)));

    public void SessionCreated() => _sessionsCreated.Add(1);

    /// <summary>Call from the session grain's OnActivateAsync; pair with <see cref="SessionDeactivated"/>.</summary>
    public void SessionActivated() => _sessionsActive.Add(1);

    public void SessionDeactivated() => _sessionsActive.Add(-1);

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

    public void Cost(decimal usd)
    {
        if (usd > 0)
        {
            _cost.Add((double)usd);
        }
    }
}
