using Loom.Turns;

namespace Loom.Timeline;

/// <summary>What a rework of the latest turn does (POST …/regenerate, …/continue, …/resend).</summary>
public enum ReworkKind
{
    /// <summary>Narrate the turn again as a new alternative; the new one is chosen.</summary>
    Regenerate,
    /// <summary>Extend the chosen alternative's narrative; its memory extraction is extended too.</summary>
    Continue,
    /// <summary>Replace the input and narrate again as a new alternative (the old input stays with the old alternatives).</summary>
    Resend,
}

[GenerateSerializer, Alias("loom.ReworkRequest")]
public sealed record ReworkRequest
{
    [Id(0)] public ReworkKind Kind { get; init; }
    /// <summary>The new input (resend only).</summary>
    [Id(1)] public string? Input { get; init; }
    [Id(2)] public string? IdempotencyKey { get; init; }
    [Id(3)] public string? Reason { get; init; }
}

[GenerateSerializer, Alias("loom.ChoiceRequest")]
public sealed record ChoiceRequest
{
    /// <summary>1-based index of the alternative that counts.</summary>
    [Id(0)] public int Alternative { get; init; }
    [Id(1)] public string? Reason { get; init; }
}

/// <summary>API: Turn.alternatives — present once a turn has more than one alternative.</summary>
[GenerateSerializer, Alias("loom.TurnAlternativesView")]
public sealed record TurnAlternativesView
{
    [Id(0)] public int Count { get; init; }
    /// <summary>1-based index of the alternative that counts (the turn's own fields are that one's).</summary>
    [Id(1)] public int Chosen { get; init; }
    [Id(2)] public List<AlternativeView> Items { get; init; } = [];
}

[GenerateSerializer, Alias("loom.AlternativeView")]
public sealed record AlternativeView
{
    [Id(0)] public int Index { get; init; }
    [Id(1)] public TurnStatus Status { get; init; }
    [Id(2)] public string Input { get; init; } = "";
    [Id(3)] public string Narrative { get; init; } = "";
    [Id(4)] public DateTime? CompletedAt { get; init; }
}

/// <summary>API: GET /api/sessions/{id}/tree — what a client needs to draw the session's branches.</summary>
[GenerateSerializer, Alias("loom.StoryTreeView")]
public sealed record StoryTreeView
{
    [Id(0)] public required string SessionId { get; init; }
    /// <summary>The session this one was forked from, and at which turn (null when it was not forked).</summary>
    [Id(1)] public TreeFork? ForkedFrom { get; init; }
    /// <summary>Sessions forked from this one (as its audit log records them), oldest first.</summary>
    [Id(2)] public List<TreeFork> Forks { get; init; } = [];
    /// <summary>The live timeline, seq 1 first.</summary>
    [Id(3)] public List<TreeTurn> Turns { get; init; } = [];
    /// <summary>Stretches a rollback took off the timeline, oldest first; each branches off after <see cref="TreeBranch.AfterSeq"/>.</summary>
    [Id(4)] public List<TreeBranch> Retconned { get; init; } = [];
}

[GenerateSerializer, Alias("loom.TreeFork")]
public sealed record TreeFork
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public int AtSeq { get; init; }
    [Id(2)] public DateTime? At { get; init; }
}

[GenerateSerializer, Alias("loom.TreeTurn")]
public sealed record TreeTurn
{
    [Id(0)] public required string TurnId { get; init; }
    [Id(1)] public int Seq { get; init; }
    [Id(2)] public TurnStatus Status { get; init; }
    /// <summary>The input, cut to a preview length.</summary>
    [Id(3)] public string Input { get; init; } = "";
    /// <summary>Alternatives of the turn (1 when it was never regenerated) and the 1-based chosen one.</summary>
    [Id(4)] public int Alternatives { get; init; } = 1;
    [Id(5)] public int Chosen { get; init; } = 1;
}

[GenerateSerializer, Alias("loom.TreeBranch")]
public sealed record TreeBranch
{
    /// <summary>The live turn the stretch followed (0: the story's start).</summary>
    [Id(0)] public int AfterSeq { get; init; }
    [Id(1)] public List<TreeTurn> Turns { get; init; } = [];
    /// <summary>The turn the stretch followed (live or itself retconned); null when it starts the story.</summary>
    [Id(2)] public string? AfterTurnId { get; init; }
}
