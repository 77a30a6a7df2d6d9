using System.Runtime.InteropServices;
using Loom.Text;
using Microsoft.Extensions.AI;

namespace Loom.Memory;

public sealed partial class WorldMemory
{
    /// <summary>Shards changed since the last call (by applies, rollbacks, compaction or new embeddings).</summary>
    public bool HasDirtyShards => _dirtyShards.Count > 0;

    /// <summary>
    /// Snapshots of the shards changed since the last call, and forgets they were dirty: persist exactly these
    /// (state name "memory.shard.&lt;Index&gt;"). An empty shard is returned too so its stored row gets emptied.
    /// The snapshots share no mutable state with the memory, so they may be written while play goes on.
    /// </summary>
    public IReadOnlyList<MemoryShard> TakeDirtyShards()
    {
        var result = new List<MemoryShard>(_dirtyShards.Count);
        foreach (var index in _dirtyShards.Order())
        {
            var members = _shardMembers[index].Values.ToArray();
            Array.Sort(members, (a, b) => string.CompareOrdinal(a.Id, b.Id));
            var entities = new List<StoredEntity>(members.Length);
            foreach (var state in members)
            {
                entities.Add(new StoredEntity { EntityId = state.Id, Revisions = [.. state.Revisions], Vector = state.Vector });
            }
            result.Add(new MemoryShard
            {
                Index = index,
                ShardCount = _options.ShardCount,
                Entities = entities,
                FloorSeq = _floorSeq,
                EmbeddingModel = _embeddingModel,
            });
        }
        _dirtyShards.Clear();
        return result;
    }

    /// <summary>Marks shards dirty again, e.g. after writing what <see cref="TakeDirtyShards"/> returned failed.</summary>
    public void MarkDirty(IEnumerable<int> shardIndexes)
    {
        foreach (var index in shardIndexes)
            if (index >= 0 && index < _options.ShardCount) _dirtyShards.Add(index);
    }

    /// <summary>Every shard (for a full rewrite, export or fork), without touching the dirty marks.</summary>
    public IReadOnlyList<MemoryShard> AllShards()
    {
        var dirty = _dirtyShards.ToList();
        for (var i = 0; i < _options.ShardCount; i++) _dirtyShards.Add(i);
        var all = TakeDirtyShards();
        foreach (var index in dirty) _dirtyShards.Add(index);
        return all;
    }

    /// <summary>
    /// Rebuilds a memory from stored shards (on activation). Stored vectors are reused when the same embedder made
    /// them; otherwise entities are re-embedded on the next search. When the shard count changed, every shard comes
    /// back dirty so the caller rewrites them (and should clear stored shards at or above the new count).
    /// </summary>
    public static WorldMemory Load(IEnumerable<MemoryShard?> shards, MemoryOptions options, ITokenCounter tokens,
        IEmbeddingGenerator<string, Embedding<float>> embedder)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var list = shards.ToList();
        var memory = new WorldMemory(options, tokens, embedder, list.Sum(s => s?.Entities?.Count ?? 0));
        var reshard = false;
        foreach (var shard in list)
        {
            if (shard?.Entities is null) continue;
            reshard |= shard.ShardCount != options.ShardCount;
            memory._floorSeq = Math.Max(memory._floorSeq, shard.FloorSeq);
            var vectorsUsable = shard.EmbeddingModel == memory._embeddingModel;
            foreach (var stored in shard.Entities)
            {
                if (stored?.EntityId is null || stored.Revisions is not { Count: > 0 }) continue;
                if (memory._states.ContainsKey(stored.EntityId)) continue; // a duplicate from an interrupted reshard
                var state = memory.AddState(stored.EntityId);
                reshard |= state.Shard != shard.Index;
                state.Revisions = InOrder(stored.Revisions)
                    ? new List<EntityRevision>(stored.Revisions)
                    : stored.Revisions.Where(r => r is not null).OrderBy(r => r.Seq).ToList();
                memory._headSeq = Math.Max(memory._headSeq, state.Revisions.Count > 0 ? state.Revisions[^1].Seq : 0);
                memory.AfterChange(state, null);
                if (state.Current is not null && vectorsUsable && stored.Vector is { Length: > 0 } bytes && bytes.Length % sizeof(float) == 0)
                    memory.UseVector(state, MemoryMarshal.Cast<byte, float>(bytes), bytes);
            }
        }
        memory._dirtyShards.Clear();
        if (reshard)
            for (var i = 0; i < options.ShardCount; i++) memory._dirtyShards.Add(i);
        return memory;
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
                UseVector(state, vector, MemoryMarshal.AsBytes(vector.AsSpan()).ToArray());
                _dirtyShards.Add(state.Shard);
            }
        }
    }

    private void UseVector(EntityState state, ReadOnlySpan<float> vector, byte[] bytes)
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
