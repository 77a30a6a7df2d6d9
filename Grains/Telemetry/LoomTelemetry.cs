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

    /// <summary>
    /// The span of one turn, a child of the request that submitted it (<paramref name="submittedBy"/>, when the
    /// submission is still known to this activation), so a trace runs HTTP → session grain → LLM → storage.
    /// </summary>
    public static Activity? StartTurn(ActivityContext submittedBy, string sessionId, string turnId)
    {
        var activity = ActivitySource.StartActivity(TurnSpans.Turn, ActivityKind.Internal, submittedBy);
        activity?.SetTag(TurnSpans.SessionIdTag, sessionId);
        activity?.SetTag(TurnSpans.TurnIdTag, turnId);
        return activity;
    }

    /// <summary>Marks a turn span failed with the turn's error code (the span's status; no exception is thrown).</summary>
    public static void TurnFailed(Activity? turn, string? errorCode)
    {
        turn?.SetStatus(ActivityStatusCode.Error, errorCode);
        turn?.SetTag("loom.error_code", errorCode);
    }
}

/// <summary>Span names and tags of the turn pipeline (traces may carry ids; metrics never do).</summary>
public static class TurnSpans
{
    public const string Turn = "loom.turn";
    public const string Llm = "loom.llm";
    public const string Commit = "loom.commit";
    public const string SessionIdTag = "loom.session_id";
    public const string TurnIdTag = "loom.turn_id";
}

/// <summary>The stages of a turn, as the <c>stage</c> label of <c>loom_turn_stage_duration_seconds</c>.</summary>
public static class TurnStages
{
    /// <summary>Submit's accept transaction (the header with the queued turn).</summary>
    public const string Accept = "accept";
    public const string QueueWait = "queue_wait";
    /// <summary>Canon, memory (loaded on first use), recent turns and retrieval: everything the prompt is built from.</summary>
    public const string MemoryRecall = "memory_recall";
    /// <summary>Building the messages within the token budget.</summary>
    public const string PromptAssembly = "prompt_assembly";
    public const string LlmFirstToken = "llm_first_token";
    public const string LlmTotal = "llm_total";
    /// <summary>Extraction from the narrative, memory changes, embeddings and a rolling summary when one is due.</summary>
    public const string MemoryApply = "memory_apply";
    public const string Commit = "commit";

    public static IReadOnlyList<string> All { get; } = [Accept, QueueWait, MemoryRecall, PromptAssembly, LlmFirstToken, LlmTotal, MemoryApply, Commit];
}

/// <summary>Values of the <c>status</c> label of <c>loom_turns_processed_total</c>.</summary>
public static class TurnOutcomes
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    /// <summary>Stopped by the player: not an error, and no latency to record.</summary>
    public const string Cancelled = "cancelled";
}
