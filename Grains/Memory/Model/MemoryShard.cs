namespace Loom.Memory;

/// <summary>
/// One persisted slice of a session's memory (state name "memory.shard.&lt;index&gt;"). Entities land in a shard by
/// a stable hash of their id, so storing after a turn rewrites only the shards that turn touched.
/// </summary>
[GenerateSerializer, Alias("loom.MemoryShard")]
public sealed class MemoryShard
{
    [Id(0)] public int Index { get; set; }
    [Id(1)] public int ShardCount { get; set; }
    [Id(2)] public List<StoredEntity> Entities { get; set; } = [];
    /// <summary>History at or below this seq was compacted: rollback below it is refused.</summary>
    [Id(3)] public int FloorSeq { get; set; }
    /// <summary>Which embedder made the stored vectors; a different one re-embeds after load.</summary>
    [Id(4)] public string? EmbeddingModel { get; set; }
    /// <summary>This row already holds every change of memory deltas numbered below this one.</summary>
    [Id(5)] public long ThroughDelta { get; set; }
}

/// <summary>
/// The entities one write changed (state name "memory.delta.&lt;Number&gt;"): a turn appends one small delta instead
/// of rewriting the shards it touched; every so many deltas the dirty shards are rewritten and the deltas dropped.
/// An entity with no revisions is one that no longer exists (e.g. its creation was rolled back).
/// </summary>
[GenerateSerializer, Alias("loom.MemoryDelta")]
public sealed class MemoryDelta
{
    [Id(0)] public long Number { get; set; }
    [Id(1)] public List<StoredEntity> Entities { get; set; } = [];
    [Id(2)] public int FloorSeq { get; set; }
    [Id(3)] public string? EmbeddingModel { get; set; }
}

/// <summary>Where a session's live memory deltas start (state name "memory.manifest.0"); moved after each snapshot.</summary>
[GenerateSerializer, Alias("loom.MemoryManifest")]
public sealed class MemoryManifest
{
    [Id(0)] public long FirstDelta { get; set; }
}

/// <summary>An entity with its change history (oldest first; the last revision is the current value).</summary>
[GenerateSerializer, Alias("loom.StoredEntity")]
public sealed class StoredEntity
{
    [Id(0)] public required string EntityId { get; set; }
    [Id(1)] public List<EntityRevision> Revisions { get; set; } = [];
    /// <summary>Embedding of the current value as raw little-endian float32 (a byte copy, cheap to store).</summary>
    [Id(2)] public byte[]? Vector { get; set; }
    /// <summary>
    /// Set in a delta: the entity's stored revisions up to this seq still hold, and <see cref="Revisions"/> are only
    /// those after it (so a long-lived entity's history is not rewritten every turn). Null: the whole history.
    /// </summary>
    [Id(3)] public int? KeepThroughSeq { get; set; }
}

/// <summary>The value an entity had after turn <see cref="Seq"/>; null means it was deleted then.</summary>
[GenerateSerializer, Alias("loom.EntityRevision")]
public sealed record EntityRevision
{
    [Id(0)] public int Seq { get; init; }
    [Id(1)] public MemoryEntity? Value { get; init; }
}
