using System.Diagnostics;

namespace Loom.Telemetry;

/// <summary>Names shared by the instruments, the OpenTelemetry wiring and the dashboards/alerts.</summary>
public static class LoomTelemetry
{
    /// <summary>Meter of every LOOM instrument (Prometheus names start with <c>loom_</c>).</summary>
    public const string MeterName = "Loom";

    /// <summary>Activity source of LOOM's own spans (turn processing, prompt assembly, LLM call, commit).</summary>
    public const string ActivitySourceName = "Loom";

    /// <summary>Spans for the turn pipeline. Static like the BCL's own sources: it costs nothing without a listener.</summary>
    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}

/// <summary>The stages of a turn, as the <c>stage</c> label of <c>loom_turn_stage_duration_seconds</c>.</summary>
public static class TurnStages
{
    public const string QueueWait = "queue_wait";
    public const string PromptAssembly = "prompt_assembly";
    public const string LlmFirstToken = "llm_first_token";
    public const string LlmTotal = "llm_total";
    public const string Commit = "commit";

    public static IReadOnlyList<string> All { get; } = [QueueWait, PromptAssembly, LlmFirstToken, LlmTotal, Commit];
}

/// <summary>Values of the <c>status</c> label of <c>loom_turns_processed_total</c>.</summary>
public static class TurnOutcomes
{
    public const string Completed = "completed";
    public const string Failed = "failed";
}
