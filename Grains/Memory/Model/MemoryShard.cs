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
}

/// <summary>An entity with its change history (oldest first; the last revision is the current value).</summary>
[GenerateSerializer, Alias("loom.StoredEntity")]
public sealed class StoredEntity
{
    [Id(0)] public required string EntityId { get; set; }
    [Id(1)] public List<EntityRevision> Revisions { get; set; } = [];
    /// <summary>Embedding of the current value as raw little-endian float32 (a byte copy, cheap to store).</summary>
    [Id(2)] public byte[]? Vector { get; set; }
}

/// <summary>The value an entity had after turn <see cref="Seq"/>; null means it was deleted then.</summary>
[GenerateSerializer, Alias("loom.EntityRevision")]
public sealed record EntityRevision
{
    [Id(0)] public int Seq { get; init; }
    [Id(1)] public MemoryEntity? Value { get; init; }
}
