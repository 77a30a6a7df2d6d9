namespace Loom.Telemetry;

/// <summary>
/// The Prometheus names LoomMetrics produces (after the exporter's unit and _total suffixes). Alerts,
/// the dashboard and the tests refer to these; a test scrapes /metrics and checks every one appears.
/// </summary>
public static class PrometheusNames
{
    public const string TurnProcessingDuration = "loom_turn_processing_duration_seconds";
    public const string TurnsProcessed = "loom_turns_processed_total";
    public const string TurnStageDuration = "loom_turn_stage_duration_seconds";
    public const string Errors = "loom_errors_total";
    public const string MemoryUsage = "loom_memory_usage_bytes";
    public const string MemoryLimit = "loom_memory_limit_bytes";
    public const string CpuUsage = "loom_cpu_usage_percent";
    public const string SessionsActive = "loom_sessions_active";
    public const string SessionsCreated = "loom_sessions_created_total";
    public const string LlmTokensUsed = "loom_llm_tokens_used_total";
    public const string CostUsd = "loom_cost_usd_total";
    public const string TurnCostUsd = "loom_turn_cost_usd";
    public const string TokenEfficiency = "loom_token_efficiency";
    public const string StorageOperations = "loom_storage_operations_total";
    public const string StorageBytesWritten = "loom_storage_bytes_written_total";
    public const string StorageTransactionDuration = "loom_storage_transaction_duration_seconds";

    public static IReadOnlyList<string> All { get; } =
    [
        TurnProcessingDuration, TurnsProcessed, TurnStageDuration, Errors, MemoryUsage, MemoryLimit, CpuUsage,
        SessionsActive, SessionsCreated, LlmTokensUsed, CostUsd, TurnCostUsd, TokenEfficiency, StorageOperations,
        StorageBytesWritten, StorageTransactionDuration,
    ];
}
