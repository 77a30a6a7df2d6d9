namespace Loom.Turns;

/// <summary>
/// API: what went into a turn's prompt and why (<c>GET /api/sessions/{id}/turns/{turnId}/context</c>). Recorded when the
/// prompt is assembled and stored with the turn, so it is there for every turn that reached the narrator.
/// </summary>
[GenerateSerializer, Alias("loom.TurnPromptContext")]
public sealed record TurnPromptContext
{
    [Id(0)] public required string WorldId { get; init; }
    [Id(1)] public int CanonVersion { get; init; }
    [Id(2)] public string CanonHash { get; init; } = "";
    /// <summary>Lore entries placed, each with the reason (key, constant, sticky, recursion) and the key that fired.</summary>
    [Id(3)] public List<LoreFired> Lore { get; init; } = [];
    /// <summary>Lore entries that fired but did not fit the lore budget.</summary>
    [Id(4)] public List<string> LoreOverBudget { get; init; } = [];
    /// <summary>Memory entities retrieved into the context message, most relevant first.</summary>
    [Id(5)] public List<string> Memory { get; init; } = [];
    /// <summary>Summary entities placed as "the story so far".</summary>
    [Id(6)] public List<string> Summaries { get; init; } = [];
    /// <summary>Seqs of the earlier turns placed verbatim.</summary>
    [Id(7)] public List<int> RecentTurns { get; init; } = [];
    /// <summary>Earlier turns left out to fit the history budget.</summary>
    [Id(8)] public int RecentTurnsOmitted { get; init; }
    /// <summary>Whether the session's opening greeting was placed.</summary>
    [Id(9)] public bool Opening { get; init; }
    /// <summary>The in-fiction input the narrator saw.</summary>
    [Id(10)] public string Input { get; init; } = "";
    [Id(11)] public ContextTokenCounts Tokens { get; init; } = new();
    /// <summary>True when memory or summaries were cut to fit their budget.</summary>
    [Id(12)] public bool ContextTruncated { get; init; }
    /// <summary>Why each entity of <see cref="Memory"/> was chosen, in the same order (empty for turns recorded before scores were).</summary>
    [Id(13)] public List<MemoryScore> MemoryScores { get; init; } = [];
}

/// <summary>
/// Why retrieval chose one memory entity: its place and score in the fused ranking (reciprocal rank fusion), and each
/// ranked list that proposed it.
/// </summary>
[GenerateSerializer, Alias("loom.MemoryScore")]
public sealed record MemoryScore
{
    [Id(0)] public required string EntityId { get; init; }
    /// <summary>1 = the best candidate of the fused ranking (candidates that did not fit the budget keep their rank).</summary>
    [Id(1)] public int Rank { get; init; }
    /// <summary>The fused score: the sum over the lists below of weight / (60 + rank in that list).</summary>
    [Id(2)] public double Score { get; init; }
    [Id(3)] public List<MemorySignal> Signals { get; init; } = [];
}

/// <summary>One ranked list that proposed an entity.</summary>
[GenerateSerializer, Alias("loom.MemorySignal")]
public sealed record MemorySignal
{
    /// <summary><c>name</c> (the entity's name or alias appears), <c>bm25</c> (keywords), <c>vector</c> (embedding
    /// similarity), <c>neighbour</c> (related to an entity the input names) or <c>recent</c> (importance and recency).</summary>
    [Id(0)] public required string Signal { get; init; }
    /// <summary>What was searched: <c>input</c> (the player's input), <c>story</c> (the recent turns) or <c>memory</c> (no query).</summary>
    [Id(1)] public required string Query { get; init; }
    /// <summary>1-based place in that list.</summary>
    [Id(2)] public int Rank { get; init; }
    /// <summary>The list's own score where it has one: mentions for name, BM25 score, cosine similarity, prior.</summary>
    [Id(3)] public double? Score { get; init; }
}

/// <summary>Tokens per part of the prompt beside its budget (message overhead included).</summary>
[GenerateSerializer, Alias("loom.ContextTokenCounts")]
public sealed record ContextTokenCounts
{
    /// <summary>Role, protocol and canon: the stable system message.</summary>
    [Id(0)] public int Canon { get; init; }
    [Id(1)] public int Lore { get; init; }
    [Id(2)] public int LoreBudget { get; init; }
    /// <summary>The context message: tone, intent, notes, summaries and memory.</summary>
    [Id(3)] public int Context { get; init; }
    [Id(4)] public int ContextBudget { get; init; }
    [Id(5)] public int RecentTurns { get; init; }
    [Id(6)] public int RecentTurnsBudget { get; init; }
    [Id(7)] public int Opening { get; init; }
    [Id(8)] public int Input { get; init; }
    [Id(9)] public int Total { get; init; }
    [Id(10)] public int TotalBudget { get; init; }
}

/// <summary>The context of one turn, as the API answers it.</summary>
[GenerateSerializer, Alias("loom.TurnContextView")]
public sealed record TurnContextView
{
    [Id(0)] public required string TurnId { get; init; }
    [Id(1)] public int Seq { get; init; }
    [Id(2)] public TurnStatus Status { get; init; }
    [Id(3)] public required TurnPromptContext Context { get; init; }
}
