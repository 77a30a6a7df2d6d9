namespace Loom.Memory;

/// <summary>In-memory bookkeeping of one entity: its history plus what the indexes hold for its current value.</summary>
internal sealed class EntityState(string id, int shard)
{
    private static int s_next;
    // Retrieval keys dictionaries by state; a stored number beats the runtime's object-header hash (which can lock).
    private readonly int _hash = Interlocked.Increment(ref s_next);

    public override int GetHashCode() => _hash;

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public string Id { get; } = id;
    public int Shard { get; } = shard;

    /// <summary>Oldest first; at most one revision per seq; never starts with a deletion.</summary>
    public List<EntityRevision> Revisions { get; set; } = [];

    public MemoryEntity? Current => Revisions.Count == 0 ? null : Revisions[^1].Value;

    public int Slot { get; set; } = -1;

    /// <summary>
    /// Revisions up to this seq are stored exactly as they are here, so the next delta only needs the ones after it;
    /// -1 when nothing is known to be stored (the next delta carries the whole history).
    /// </summary>
    public int DurableSeq { get; set; } = -1;

    /// <summary>Raw float32 bytes of the embedding of the current value, kept only when vectors are stored; null while stale.</summary>
    public byte[]? Vector { get; set; }

    /// <summary>Hash of the text BM25 holds for this entity (default: nothing indexed).</summary>
    public UInt128 IndexedTextHash { get; set; }
    /// <summary>Relation edges the current value states (indexed under their far ends).</summary>
    public RelationEdge[] Edges { get; set; } = [];

    public MemoryEntity? RenderedValue { get; set; }
    public string? RenderedLine { get; set; }
    public int RenderedTokens { get; set; }
}

/// <summary>An edge as stated by an entity; ends are entity ids or name slugs, resolved when read.</summary>
internal readonly record struct RelationEdge(string Owner, string Source, string Kind, string Target);
