using Loom.Memory;
using Loom.Sessions;

namespace Loom.Turns;

public enum TurnStatus { Queued, Running, Completed, Failed, Retconned }

public static class TurnStatuses
{
    /// <summary>A turn in this status will not change by itself any more (a wait for it can end).</summary>
    public static bool IsFinished(this TurnStatus status) => status is TurnStatus.Completed or TurnStatus.Failed or TurnStatus.Retconned;
}

/// <summary>An inline out-of-story marker found in the input: ooc, edit, retcon, tone, intent, meta.</summary>
[GenerateSerializer, Alias("loom.Intervention")]
public sealed record Intervention
{
    [Id(0)] public required string Type { get; init; }
    [Id(1)] public required string Content { get; init; }
    /// <summary>"applied", "refused" or "noted" once the turn ran (null while queued).</summary>
    [Id(2)] public string? Status { get; init; }
    /// <summary>Why it was refused, or what it did (e.g. the entities an edit changed).</summary>
    [Id(3)] public string? Detail { get; init; }
}

[GenerateSerializer, Alias("loom.TurnError")]
public sealed record TurnError
{
    [Id(0)] public required string Code { get; init; }
    [Id(1)] public required string Message { get; init; }

    /// <summary>The code of a turn the player stopped (<c>POST …/cancel</c>).</summary>
    public const string CancelledCode = "cancelled";
}

/// <summary>API: Turn. Default members are not written (a turn without alternatives stores no bytes for them).</summary>
[GenerateSerializer, Alias("loom.TurnView"), OmitDefaultMemberValues]
public sealed record TurnView
{
    [Id(0)] public required string TurnId { get; init; }
    [Id(1)] public int Seq { get; init; }
    [Id(2)] public required string Input { get; init; }
    [Id(3)] public TurnStatus Status { get; init; }
    [Id(4)] public string Narrative { get; init; } = "";
    [Id(5)] public List<Intervention> Interventions { get; init; } = [];
    [Id(6)] public List<MemoryOp> MemoryUpdates { get; init; } = [];
    [Id(7)] public Usage Usage { get; init; } = Usage.Zero;
    [Id(8)] public string? Provider { get; init; }
    [Id(9)] public string? Model { get; init; }
    [Id(10)] public DateTime CreatedAt { get; init; }
    [Id(11)] public DateTime? StartedAt { get; init; }
    [Id(12)] public DateTime? CompletedAt { get; init; }
    [Id(13)] public long? LatencyMs { get; init; }
    [Id(14)] public TurnError? Error { get; init; }
    /// <summary>The in-fiction text that reached the narrator (input without markers).</summary>
    [Id(15)] public string StoryInput { get; init; } = "";
    /// <summary>Entity ids retrieved into this turn's prompt.</summary>
    [Id(16)] public List<string> MemoryUsed { get; init; } = [];
    /// <summary>Non-fatal notes (e.g. a malformed memory block was skipped).</summary>
    [Id(17)] public List<string> Warnings { get; init; } = [];
    /// <summary>An out-of-character answer from the narrator, kept apart from the story.</summary>
    [Id(18)] public string? OocReply { get; init; }
    /// <summary>Retried provider attempts before the answer (or failure). High ids leave room for other fields.</summary>
    [Id(40)] public int Retries { get; init; }
    /// <summary>Providers given up on before the one that answered (or the failure).</summary>
    [Id(41)] public int Fallbacks { get; init; }
    /// <summary>Shared sessions: the member who sent the input (owner id); null in solo play.</summary>
    [Id(42)] public string? Speaker { get; init; }
    /// <summary>Lore entries placed in this turn's prompt (their timed effects are read back from here).</summary>
    [Id(60)] public List<LoreFired> Lore { get; init; } = [];
    /// <summary>The turn's alternatives (regenerate/resend), filled in when read; null while it has only one.</summary>
    [Id(61)] public Loom.Timeline.TurnAlternativesView? Alternatives { get; init; }
}

[GenerateSerializer, Alias("loom.TurnSubmission")]
public sealed record TurnSubmission
{
    [Id(0)] public required string Input { get; init; }
    [Id(1)] public string? IdempotencyKey { get; init; }
    /// <summary>Shared sessions: the member who sent it (their owner id); the input already starts with their display name.</summary>
    [Id(2)] public string? Speaker { get; init; }
    /// <summary>Shared sessions: who plays (names and personas, Markdown) for the narrator's prompt.</summary>
    [Id(3)] public string? Players { get; init; }
    /// <summary>
    /// When the caller stops waiting for this submit's answer (UTC, with a margin for clocks). A submission that reaches
    /// the session later is refused unless its key already names a turn: it sat somewhere (a stopped silo's socket
    /// buffer, where Orleans' relative message lifetime does not count) while the client was told 503 and retried.
    /// </summary>
    [Id(4)] public DateTime? NotAfter { get; init; }
    /// <summary>Shared sessions: the member's own words (<see cref="Input"/> without their name). A retry under the same key
    /// must repeat them; a rename in between changes only the name.</summary>
    [Id(5)] public string? Words { get; init; }
}

[GenerateSerializer, Alias("loom.TurnQuery")]
public sealed record TurnQuery
{
    /// <summary>Only turns with seq greater than this (live timeline order).</summary>
    [Id(0)] public int? AfterSeq { get; init; }
    [Id(1)] public int Limit { get; init; } = 50;
    [Id(2)] public bool IncludeRetconned { get; init; }
    /// <summary>Journal-position cursor used when listing every turn (includeRetconned).</summary>
    [Id(3)] public long? AfterOrdinal { get; init; }

    /// <summary>The cursor as the API carries it: a seq number, or "o{ordinal}" from a previous page's <c>next</c>.</summary>
    public static string OrdinalCursor(long ordinal) => $"o{ordinal}";

    /// <summary>This query continued after <paramref name="after"/> (see <see cref="OrdinalCursor"/>); false when it is neither form.</summary>
    public bool TryAfter(string? after, out TurnQuery query)
    {
        query = this;
        if (string.IsNullOrEmpty(after)) return true;
        if (after.StartsWith('o') && long.TryParse(after.AsSpan(1), System.Globalization.NumberStyles.None, null, out var ordinal))
        {
            query = this with { AfterOrdinal = ordinal };
            return true;
        }
        if (int.TryParse(after, System.Globalization.NumberStyles.None, null, out var seq))
        {
            query = this with { AfterSeq = seq };
            return true;
        }
        return false;
    }
}

[GenerateSerializer, Alias("loom.TurnList")]
public sealed record TurnList
{
    [Id(0)] public List<TurnView> Items { get; init; } = [];
    /// <summary>Cursor for the next page (the last seq returned), null at the end.</summary>
    [Id(1)] public string? Next { get; init; }
}
