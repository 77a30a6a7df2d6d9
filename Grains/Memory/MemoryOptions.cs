using Microsoft.Extensions.Options;

namespace Loom.Memory;

/// <summary>World memory settings (configuration section <c>Loom:Memory</c>).</summary>
public sealed class MemoryOptions
{
    public const string SectionName = "Loom:Memory";

    /// <summary>Entities are spread over this many persisted shards so a turn rewrites only the shards it touched.</summary>
    public int ShardCount { get; set; } = 64;

    /// <summary>
    /// Turns of change history kept for rollback (0 = keep everything). Older history is folded into one base
    /// revision per entity, and a rollback below that point is refused.
    /// </summary>
    public int HistoryTurns { get; set; } = 1000;

    /// <summary>Default token budget of the memory block in a prompt.</summary>
    public int TokenBudget { get; set; } = 2000;

    /// <summary>Fold turns that left the recent window into a summary every this many turns.</summary>
    public int SummaryEveryTurns { get; set; } = 10;

    /// <summary>Turns the prompt carries verbatim; older ones are represented by summaries and memory.</summary>
    public int RecentWindowTurns { get; set; } = 6;

    public int MaxSummaryChars { get; set; } = 1200;

    /// <summary>Content longer than this is cut (at a word) when rendered into a prompt.</summary>
    public int MaxRenderedContentChars { get; set; } = 400;

    public int MaxNameChars { get; set; } = 200;
    public int MaxContentChars { get; set; } = 8000;
    public int MaxAttributes { get; set; } = 32;
    public int MaxOpsPerBlock { get; set; } = 64;

    /// <summary>
    /// Live entities a player may bring a session's memory to through the API (<c>PUT …/memory/{id}</c> of a new id):
    /// every entity is loaded, searched and snapshotted with the session, so edits cannot grow it without bound.
    /// </summary>
    public int MaxEntities { get; set; } = 10_000;

    /// <summary>
    /// Writes between shard snapshots: each turn appends a delta row with only the entities it changed, and after
    /// this many deltas the dirty shards are rewritten and the deltas dropped (1 = rewrite dirty shards every turn).
    /// </summary>
    public int DeltasPerSnapshot { get; set; } = 128;

    /// <summary>Dimensions of the built-in hashing embedder.</summary>
    public int EmbeddingDimensions { get; set; } = 256;

    /// <summary>Which embedder makes the vectors for recall (<c>Loom:Memory:Embedder</c>).</summary>
    public EmbedderOptions Embedder { get; set; } = new();

    public IEnumerable<string> Validate()
    {
        if (ShardCount is < 1 or > 4096) yield return "Loom:Memory:ShardCount must be 1..4096.";
        if (HistoryTurns < 0) yield return "Loom:Memory:HistoryTurns must be 0 (unbounded) or positive.";
        if (TokenBudget is < 0 or > 1_000_000) yield return "Loom:Memory:TokenBudget must be 0..1000000.";
        if (SummaryEveryTurns < 1) yield return "Loom:Memory:SummaryEveryTurns must be at least 1.";
        if (RecentWindowTurns < 0) yield return "Loom:Memory:RecentWindowTurns must not be negative.";
        if (MaxSummaryChars < 100) yield return "Loom:Memory:MaxSummaryChars must be at least 100.";
        if (MaxRenderedContentChars < 40) yield return "Loom:Memory:MaxRenderedContentChars must be at least 40.";
        if (MaxNameChars is < 1 or > 1000) yield return "Loom:Memory:MaxNameChars must be 1..1000.";
        if (MaxContentChars < 1) yield return "Loom:Memory:MaxContentChars must be positive.";
        if (MaxAttributes < 0) yield return "Loom:Memory:MaxAttributes must not be negative.";
        if (MaxOpsPerBlock < 1) yield return "Loom:Memory:MaxOpsPerBlock must be positive.";
        if (MaxEntities is < 1 or > 1_000_000) yield return "Loom:Memory:MaxEntities must be 1..1000000.";
        if (DeltasPerSnapshot is < 1 or > 1024) yield return "Loom:Memory:DeltasPerSnapshot must be 1..1024.";
        if (EmbeddingDimensions is < 16 or > 4096) yield return "Loom:Memory:EmbeddingDimensions must be 16..4096.";
        foreach (var error in Embedder.Validate()) yield return error;
    }

    internal void ThrowIfInvalid()
    {
        var errors = Validate().ToList();
        if (errors.Count > 0) throw new OptionsValidationException(nameof(MemoryOptions), typeof(MemoryOptions), errors);
    }
}

/// <summary>Lets the host fail at start-up (ValidateOnStart) instead of at the first turn.</summary>
public sealed class MemoryOptionsValidator : IValidateOptions<MemoryOptions>
{
    public ValidateOptionsResult Validate(string? name, MemoryOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
