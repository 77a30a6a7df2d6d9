using System.Runtime.InteropServices;
using Loom.Text;
using Microsoft.Extensions.AI;

namespace Loom.Memory;

public sealed partial class WorldMemory
{
    /// <summary>Shards changed since the last snapshot (by applies, rollbacks, compaction or new embeddings).</summary>
    public bool HasDirtyShards => _dirtyShards.Count > 0;

    /// <summary>Entities changed since the last delta or snapshot: a write is due.</summary>
    public bool HasChanges => _changed.Count > 0;

    /// <summary>Set when the stored shards used another shard count: the next write must be a full snapshot.</summary>
    public bool NeedsSnapshot { get; private set; }

    /// <summary>
    /// The entities changed since the last delta or snapshot, as one delta (ids in order; a removed entity has no
    /// revisions), and forgets they changed. Shards stay dirty: the next snapshot rewrites them.
    /// </summary>
    public MemoryDelta TakeChanges()
    {
        var entities = new List<StoredEntity>(_changed.Count);
        foreach (var id in _changed.Order(StringComparer.Ordinal))
        {
            if (!_states.TryGetValue(id, out var state))
            {
                entities.Add(new StoredEntity { EntityId = id, Revisions = [] });
                continue;
            }
            var keep = state.DurableSeq;
            entities.Add(keep < 0
                ? Stored(state)
                : new StoredEntity
                {
                    EntityId = id,
                    KeepThroughSeq = keep,
                    Revisions = state.Revisions.Where(r => r.Seq > keep).ToList(),
                    Vector = StoredVector(state),
                });
            state.DurableSeq = state.Revisions[^1].Seq;
        }
        _changed.Clear();
        return new MemoryDelta { Entities = entities, FloorSeq = _floorSeq, EmbeddingModel = _embeddingModel };
    }

    /// <summary>Marks a delta's entities changed again, e.g. after writing what <see cref="TakeChanges"/> returned failed.</summary>
    public void MarkChanged(MemoryDelta delta)
    {
        foreach (var entity in delta.Entities) Unsaved(entity.EntityId);
    }

    private void Unsaved(string entityId)
    {
        _changed.Add(entityId);
        if (_states.TryGetValue(entityId, out var state)) state.DurableSeq = -1;
    }

    /// <summary>
    /// Snapshots of the shards changed since the last call, and forgets they were dirty (and that entities changed):
    /// persist exactly these (state name "memory.shard.&lt;Index&gt;"). An empty shard is returned too so its stored row
    /// gets emptied. The snapshots share no mutable state with the memory, so they may be written while play goes on.
    /// </summary>
    public IReadOnlyList<MemoryShard> TakeDirtyShards()
    {
        var result = Snapshot(_dirtyShards.Order());
        foreach (var shard in result)
        foreach (var stored in shard.Entities)
            _states[stored.EntityId].DurableSeq = stored.Revisions[^1].Seq;
        _dirtyShards.Clear();
        _changed.Clear();
        NeedsSnapshot = false;
        return result;
    }

    /// <summary>Marks shards dirty again, e.g. after writing what <see cref="TakeDirtyShards"/> returned failed.</summary>
    public void MarkDirty(IEnumerable<MemoryShard> shards)
    {
        foreach (var shard in shards)
        {
            if (shard.Index < 0 || shard.Index >= _options.ShardCount) continue;
            _dirtyShards.Add(shard.Index);
            foreach (var entity in shard.Entities) Unsaved(entity.EntityId);
        }
    }

    /// <summary>Every shard (for a full rewrite, export or fork), without touching the dirty marks.</summary>
    public IReadOnlyList<MemoryShard> AllShards() => Snapshot(Enumerable.Range(0, _options.ShardCount));

    private List<MemoryShard> Snapshot(IEnumerable<int> indexes)
    {
        var result = new List<MemoryShard>();
        foreach (var index in indexes)
        {
            var members = _shardMembers[index]?.Values.ToArray() ?? [];
            Array.Sort(members, (a, b) => string.CompareOrdinal(a.Id, b.Id));
            var entities = new List<StoredEntity>(members.Length);
            foreach (var state in members) entities.Add(Stored(state));
            result.Add(new MemoryShard
            {
                Index = index,
                ShardCount = _options.ShardCount,
                Entities = entities,
                FloorSeq = _floorSeq,
                EmbeddingModel = _embeddingModel,
            });
        }
        return result;
    }

    private StoredEntity Stored(EntityState state) =>
        new() { EntityId = state.Id, Revisions = [.. state.Revisions], Vector = StoredVector(state) };

    private byte[]? StoredVector(EntityState state) => _storeVectors ? state.Vector : null;

    /// <summary>
    /// Rebuilds a memory from stored shards and the deltas written since (on activation), deltas in number order.
    /// A delta's entity replaces the shard's copy unless that shard row was snapshotted after the delta. Stored
    /// vectors are reused when the same embedder made them; otherwise entities are re-embedded on the next search.
    /// When the shard count changed, <see cref="NeedsSnapshot"/> is set and every shard comes back dirty so the
    /// caller rewrites them (and should clear stored shards at or above the new count).
    /// </summary>
    public static WorldMemory Load(IEnumerable<MemoryShard?> shards, MemoryOptions options, ITokenCounter tokens,
        IEmbeddingGenerator<string, Embedding<float>> embedder, IEnumerable<MemoryDelta>? deltas = null)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var rows = shards.Where(s => s?.Entities is not null).Select(s => s!).ToList();
        var deltaList = (deltas ?? []).Where(d => d?.Entities is not null).OrderBy(d => d.Number).ToList();
        var reshard = false;
        var floor = 0;

        // Latest stored form of each entity: (entity, snapshot mark of the row it came from, embedder of its vector).
        var latest = new Dictionary<string, (StoredEntity Entity, long Through, string? Model, int Row)>(
            rows.Sum(r => r.Entities.Count), StringComparer.Ordinal);
        var rowByIndex = new Dictionary<(int Count, int Index), MemoryShard>();
        foreach (var row in rows)
        {
            reshard |= row.ShardCount != options.ShardCount;
            floor = Math.Max(floor, row.FloorSeq);
            rowByIndex.TryAdd((row.ShardCount, row.Index), row);
            foreach (var stored in row.Entities)
            {
                if (stored?.EntityId is null) continue;
                // A duplicate comes from an interrupted reshard: the first copy wins.
                latest.TryAdd(stored.EntityId, (stored, row.ThroughDelta, row.EmbeddingModel, row.Index));
            }
        }
        foreach (var delta in deltaList)
        {
            floor = Math.Max(floor, delta.FloorSeq);
            foreach (var stored in delta.Entities)
            {
                if (stored?.EntityId is null) continue;
                var found = latest.TryGetValue(stored.EntityId, out var known);
                var through = found ? known.Through : ThroughOfRow(stored.EntityId);
                if (delta.Number < through) continue; // that shard row was snapshotted later and already has it
                var entity = stored;
                if (stored.KeepThroughSeq is { } keep)
                {
                    // A patch: the history stored so far up to `keep`, then the revisions the delta carries.
                    var kept = found ? known.Entity.Revisions.Where(r => r is not null && r.Seq <= keep) : [];
                    entity = new StoredEntity { EntityId = stored.EntityId, Revisions = [.. kept, .. stored.Revisions], Vector = stored.Vector };
                }
                latest[stored.EntityId] = (entity, through, delta.EmbeddingModel, -1);
            }
        }

        var memory = new WorldMemory(options, tokens, embedder, latest.Count);
        memory._floorSeq = floor;
        // Shards whose stored row lacks what a live delta holds: the next snapshot deletes those deltas, so it must
        // rewrite these shards too, removals included, or the deltas' entities would be lost with them.
        var heldInDeltas = new HashSet<int>();
        foreach (var (id, (stored, _, model, row)) in latest)
        {
            if (row < 0) heldInDeltas.Add(ShardOf(id, options.ShardCount));
            if (stored.Revisions is not { Count: > 0 }) continue;
            var state = memory.AddState(id);
            reshard |= row >= 0 && state.Shard != row;
            state.Revisions = InOrder(stored.Revisions)
                ? new List<EntityRevision>(stored.Revisions)
                : stored.Revisions.Where(r => r is not null).OrderBy(r => r.Seq).ToList();
            // Rows written before a compaction still hold older history: trim it the way compaction did.
            if (floor > 0) TrimToFloor(state.Revisions, floor);
            if (state.Revisions.Count > 0)
            {
                state.DurableSeq = state.Revisions[^1].Seq;
                memory._headSeq = Math.Max(memory._headSeq, state.DurableSeq);
            }
            // Drops a leading deletion (and an entity that is nothing else) as it does live.
            memory.AfterChange(state, null);
            if (state.Current is not null && model == memory._embeddingModel && stored.Vector is { Length: > 0 } bytes && bytes.Length % sizeof(float) == 0)
                memory.UseVector(state, MemoryMarshal.Cast<byte, float>(bytes), memory._storeVectors ? bytes : null);
        }
        memory._dirtyShards.Clear();
        memory._dirtyShards.UnionWith(heldInDeltas);
        memory._changed.Clear();
        if (reshard)
        {
            memory.NeedsSnapshot = true;
            for (var i = 0; i < options.ShardCount; i++) memory._dirtyShards.Add(i);
        }
        return memory;

        long ThroughOfRow(string entityId)
        {
            // An entity no row holds: the row it would live in decides (it may have been dropped in a later snapshot).
            var index = ShardOf(entityId, options.ShardCount);
            if (rowByIndex.TryGetValue((options.ShardCount, index), out var row)) return row.ThroughDelta;
            foreach (var candidate in rows)
                if (candidate.Index == ShardOf(entityId, candidate.ShardCount)) return candidate.ThroughDelta;
            return 0;
        }
    }

    private static bool InOrder(List<EntityRevision> revisions)
    {
        for (var i = 0; i < revisions.Count; i++)
        {
            if (revisions[i] is null || (i > 0 && revisions[i - 1].Seq >= revisions[i].Seq)) return false;
        }
        return true;
    }

    /// <summary>
    /// Embeds entities whose text changed since they were last embedded (one batched call to the embedder).
    /// Call after <see cref="Apply"/> and before <see cref="TakeDirtyShards"/> so stored shards carry their
    /// vectors; searches call it too, so skipping it only costs time, never correctness.
    /// </summary>
    public async Task RefreshEmbeddingsAsync(CancellationToken cancellationToken = default)
    {
        const int batchSize = 256;
        if (_staleEmbeddings.Count == 0) return;
        var pending = _staleEmbeddings
            .Where(s => s.Current is not null)
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .Select(s => (State: s, Value: s.Current!, Text: EmbeddingText(s.Current!)))
            .ToList();
        foreach (var batch in pending.Chunk(batchSize))
        {
            var embeddings = await _embedder.GenerateAsync(batch.Select(b => b.Text), cancellationToken: cancellationToken);
            if (embeddings.Count != batch.Length)
                throw new InvalidOperationException($"The embedder returned {embeddings.Count} vectors for {batch.Length} texts.");
            for (var i = 0; i < batch.Length; i++)
            {
                var (state, value, _) = batch[i];
                // Another call may have changed the entity while we awaited: its new text is stale again.
                if (!ReferenceEquals(state.Current, value) || !_staleEmbeddings.Contains(state)) continue;
                var vector = embeddings[i].Vector.ToArray();
                Normalize(vector);
                // The byte copy is only kept for storing: the index holds the floats.
                UseVector(state, vector, _storeVectors ? MemoryMarshal.AsBytes(vector.AsSpan()).ToArray() : null);
                if (!_storeVectors) continue; // recomputed after load: nothing to write
                _dirtyShards.Add(state.Shard);
                _changed.Add(state.Id);
            }
        }
    }

    private void UseVector(EntityState state, ReadOnlySpan<float> vector, byte[]? bytes)
    {
        if (_vectors is null || _vectors.Dimensions != vector.Length)
        {
            if (_vectors is not null) MarkAllStale(); // the embedder changed dimensions: old vectors are useless
            _vectors = new VectorIndex(vector.Length, Math.Max(_capacity, _slots.Count));
        }
        _vectors.Set(state.Slot, vector);
        state.Vector = bytes;
        _staleEmbeddings.Remove(state);
    }

    private void MarkAllStale()
    {
        foreach (var state in _states.Values)
        {
            if (state.Current is null) continue;
            state.Vector = null;
            _staleEmbeddings.Add(state);
        }
    }

    private static void Normalize(Span<float> vector)
    {
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
        if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
    }
}
