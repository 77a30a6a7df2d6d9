using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Loom.Errors;
using Loom.Text;
using Microsoft.Extensions.AI;

namespace Loom.Memory;

/// <summary>
/// A session's world memory: entities with full change history, kept indexed for name activation, BM25 and
/// vector search. Owned by one session grain and used from its single thread (not thread-safe by design).
/// <para>
/// Every change records the turn (seq) that made it, so <see cref="RollbackTo"/> restores the memory exactly as
/// it stood after any turn that is not older than the compaction floor (see <see cref="MemoryOptions.HistoryTurns"/>).
/// </para>
/// Typical turn: <c>Apply</c> → <c>await RefreshEmbeddingsAsync</c> → <c>TakeChanges</c> → write that delta; every so
/// many turns <c>TakeDirtyShards</c> → rewrite those shards and drop the deltas.
/// </summary>
public sealed partial class WorldMemory
{
    private readonly MemoryOptions _options;
    private readonly ITokenCounter _tokens;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _embedder;
    private readonly string _embeddingModel;
    // Vectors of the built-in hashing embedder are recomputed in microseconds, so storing them (1 KiB per entity at 256
    // dimensions, in every delta that touches the entity) costs more than it saves; a remote embedder's are stored.
    private readonly bool _storeVectors;

    private readonly Dictionary<string, EntityState> _states;
    // Created on first use: most sessions touch a few of the 64 shards, and an empty dictionary each is ~80 bytes × 64.
    private readonly Dictionary<string, EntityState>?[] _shardMembers;
    private readonly List<EntityState?> _slots;
    // Importance and last turn per slot, and live slots grouped by last turn: ranking by prior walks back from the
    // newest turn and stops once even the most important entity could not make the cut (see TopByPrior).
    private double[] _slotImportance;
    private readonly Dictionary<int, HashSet<int>> _slotsByLastSeq = [];
    private int _maxLastSeq;
    private double _maxImportance;
    /// <summary>Entities expected (known when loading): indexes are sized once instead of doubling their way up.</summary>
    private readonly int _capacity;
    private readonly Stack<int> _freeSlots = new();
    private readonly HashSet<int> _dirtyShards = [];
    /// <summary>Entities whose stored form changed since the last delta or snapshot (ids; gone ones included).</summary>
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private readonly HashSet<EntityState> _staleEmbeddings = [];

    private readonly NameIndex _names = new();
    // Live summaries: every turn asks for them (the prompt's newest summaries, whether one is due), and scanning all
    // entities for them cost a 10,000-entity memory three full passes per turn.
    private readonly HashSet<EntityState> _summaries = new(ReferenceEqualityComparer.Instance);
    private readonly Bm25Index _bm25;
    private VectorIndex? _vectors;
    private readonly Dictionary<string, List<string>> _idsByNameSlug = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<RelationEdge>> _edgesByEnd = new(StringComparer.Ordinal);

    private int _headSeq;
    private int _floorSeq;
    private int _liveCount;

    // A new session knows a handful of entities (a first turn writes three or four); indexes start that small (the
    // vector matrix alone is capacity × dimensions floats, 1 KiB per slot at 256) and double as they fill. A load
    // presizes them to what it reads.
    private const int InitialCapacity = 4;

    private WorldMemory(MemoryOptions options, ITokenCounter tokens, IEmbeddingGenerator<string, Embedding<float>> embedder, int capacity = InitialCapacity)
    {
        _capacity = Math.Max(capacity, InitialCapacity);
        _states = new Dictionary<string, EntityState>(_capacity, StringComparer.Ordinal);
        _slots = new List<EntityState?>(_capacity);
        _bm25 = new Bm25Index(_capacity);
        _slotImportance = new double[_capacity];
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(embedder);
        options.ThrowIfInvalid();
        _options = options;
        _tokens = tokens;
        _embedder = embedder;
        var metadata = embedder.GetService<EmbeddingGeneratorMetadata>();
        _embeddingModel = $"{metadata?.ProviderName ?? embedder.GetType().Name}/{metadata?.DefaultModelId}/{metadata?.DefaultModelDimensions}";
        _storeVectors = metadata?.ProviderName != HashingEmbeddingGenerator.ProviderName;
        _shardMembers = new Dictionary<string, EntityState>?[options.ShardCount];
    }

    public static WorldMemory Create(MemoryOptions options, ITokenCounter tokens, IEmbeddingGenerator<string, Embedding<float>> embedder) =>
        new(options, tokens, embedder);

    /// <summary>True for the hashing embedder (microseconds, vectors never stored): turns embed inline. A model
    /// embedder's work runs after the turn instead.</summary>
    public bool EmbedsInline => !_storeVectors;

    /// <summary>Live (not deleted) entities.</summary>
    public int Count => _liveCount;

    /// <summary>The latest turn that changed memory (or the turn rolled back to).</summary>
    public int HeadSeq => _headSeq;

    /// <summary>Rollback to a turn below this is refused: that history was compacted.</summary>
    public int FloorSeq => _floorSeq;

    public MemoryOptions Options => _options;

    /// <summary>Stable shard of an entity id (xxHash3 of its UTF-16 bytes, so it never changes between runs).</summary>
    public static int ShardOf(string entityId, int shardCount) =>
        (int)(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(entityId.AsSpan())) % (ulong)shardCount);

    /// <summary>
    /// Applies the changes of turn <paramref name="seq"/> (world edits use the current turn's seq). All ops are
    /// checked first: one invalid op rejects the call (422) and nothing changes. Returns the normalised ops that
    /// changed or touched something (with entity ids); deleting an unknown entity is not among them.
    /// </summary>
    public IReadOnlyList<MemoryOp> Apply(IReadOnlyList<MemoryOp> ops, int seq)
    {
        ArgumentNullException.ThrowIfNull(ops);
        if (seq < 0) throw Problems.Invalid("seq", "seq must not be negative.");
        if (seq < _headSeq)
            throw Problems.Conflict("memory_seq_out_of_order",
                $"Memory already holds changes of turn {_headSeq}; changes for turn {seq} need a rollback first.");

        var normalized = new List<MemoryOp>(ops.Count);
        Dictionary<string, string[]>? errors = null;
        for (var i = 0; i < ops.Count; i++)
        {
            if (ops[i] is null)
            {
                (errors ??= [])[$"ops[{i}]"] = ["op is missing"];
            }
            else if (MemoryOpNormalizer.TryNormalize(ops[i], _options, out var op, out var error))
            {
                normalized.Add(op);
            }
            else
            {
                (errors ??= [])[$"ops[{i}]"] = [error!];
            }
        }
        if (errors is not null)
            throw Problems.Unprocessable("invalid_memory_op", "One or more memory operations are invalid; nothing was changed.", errors);

        var applied = new List<MemoryOp>(normalized.Count);
        foreach (var op in normalized)
        {
            if (op.Op == MemoryOpNormalizer.Delete ? ApplyDelete(op, seq) : ApplyUpsert(op, seq)) applied.Add(op);
        }
        _headSeq = seq;
        CompactIfDue();
        return applied;
    }

    public MemoryEntity? Get(string entityId) =>
        entityId is not null && _states.TryGetValue(entityId, out var state) ? state.Current : null;

    /// <summary>An entity as it was after turn <paramref name="seq"/> (null when it did not exist or was deleted then);
    /// the current value when <paramref name="seq"/> is null.</summary>
    public MemoryEntity? Get(string entityId, int? seq) =>
        entityId is not null && _states.TryGetValue(entityId, out var state) ? ValueAsOf(state, seq) : null;

    private static MemoryEntity? ValueAsOf(EntityState state, int? seq)
    {
        if (seq is not { } asOf) return state.Current;
        for (var i = state.Revisions.Count - 1; i >= 0; i--)
        {
            if (state.Revisions[i].Seq <= asOf) return state.Revisions[i].Value;
        }
        return null;
    }

    /// <summary>Entities in id order, optionally of one type and containing <paramref name="query"/> (name, aliases or
    /// content); as they were after turn <paramref name="asOfSeq"/> when it is given.</summary>
    public IReadOnlyList<MemoryEntity> List(EntityType? type, string? query, int limit, string? afterEntityId = null, int? asOfSeq = null)
    {
        if (limit < 1) throw Problems.Invalid("limit", "limit must be at least 1.");
        var text = string.IsNullOrWhiteSpace(query) ? null : query.Trim();
        return _states.Values
            .Select(s => ValueAsOf(s, asOfSeq))
            .OfType<MemoryEntity>()
            .Where(e => type is null || e.Type == type)
            .Where(e => afterEntityId is null || string.CompareOrdinal(e.EntityId, afterEntityId) > 0)
            .Where(e => text is null || Contains(e.Name, text) || Contains(e.Content, text) || e.Aliases.Any(a => Contains(a, text)))
            .OrderBy(e => e.EntityId, StringComparer.Ordinal)
            .Take(limit)
            .ToList();

        // Ordinal: the same answer on every silo whatever its culture, and no code point that culture-aware search
        // ignores (a soft hyphen) matches everything.
        static bool Contains(string field, string text) => field.Contains(text, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The live entity a name (or alias) refers to; ties go to the lowest entity type, then the id.</summary>
    public MemoryEntity? FindByName(string name)
    {
        var slug = EntityIds.Slug(name ?? "");
        return slug.Length > 0 && Resolve(slug) is { } id ? Get(id) : null;
    }

    /// <summary>Every entity with history (deleted ones too), in id order: for export and fork.</summary>
    public IReadOnlyList<(string EntityId, MemoryEntity? Current, IReadOnlyList<EntityRevision> Revisions)> AllWithHistory() =>
        _states.Values.OrderBy(s => s.Id, StringComparer.Ordinal)
            .Select(s => (s.Id, s.Current, (IReadOnlyList<EntityRevision>)s.Revisions.ToList()))
            .ToList();

    /// <summary>Every live entity (for export), in id order.</summary>
    public IReadOnlyList<MemoryEntity> All() =>
        _states.Values.Select(s => s.Current).OfType<MemoryEntity>().OrderBy(e => e.EntityId, StringComparer.Ordinal).ToList();

    /// <summary>The recorded revisions of an entity, oldest first (null values are deletions).</summary>
    public IReadOnlyList<EntityRevision> History(string entityId) =>
        _states.TryGetValue(entityId, out var state) ? state.Revisions.ToList() : [];

    /// <summary>
    /// Restores memory exactly as it was after turn <paramref name="seq"/>: later revisions are dropped, entities
    /// created later disappear, deleted ones come back. Refused (409) below the compaction floor.
    /// </summary>
    public void RollbackTo(int seq)
    {
        if (seq < 0) throw Problems.Invalid("toSeq", "toSeq must not be negative.");
        if (seq < _floorSeq)
            throw Problems.Conflict("memory_history_compacted",
                $"Memory history before turn {_floorSeq} was compacted; it cannot be rolled back to turn {seq}.");
        foreach (var state in _states.Values.Where(s => s.Revisions[^1].Seq > seq).ToList())
        {
            var old = state.Current;
            state.Revisions.RemoveAll(r => r.Seq > seq);
            state.DurableSeq = Math.Min(state.DurableSeq, seq);
            AfterChange(state, old);
        }
        _headSeq = Math.Min(_headSeq, seq);
    }

    /// <summary>
    /// Puts an entity's history back as <see cref="History"/> returned it (e.g. to undo an edit whose write failed);
    /// the entity counts as changed, so the next write stores the restored form. Revisions after
    /// <paramref name="keepAfterSeq"/> are kept: a turn that ran while the edit was being written keeps its change.
    /// </summary>
    public void Restore(string entityId, IReadOnlyList<EntityRevision> revisions, int keepAfterSeq = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(revisions);
        _states.TryGetValue(entityId, out var state);
        var later = state?.Revisions.Where(r => r.Seq > keepAfterSeq).ToList() ?? [];
        if (state is null)
        {
            if (revisions.Count == 0) return;
            state = AddState(entityId);
        }
        var old = state.Current;
        state.Revisions = [.. revisions.Where(r => r.Seq <= keepAfterSeq), .. later];
        // A history never starts with a deletion.
        while (state.Revisions.Count > 0 && state.Revisions[0].Value is null) state.Revisions.RemoveAt(0);
        state.DurableSeq = -1; // what storage holds for it is uncertain now: store it whole next time
        AfterChange(state, old);
        _changed.Add(entityId);
    }

    /// <summary>The highest turn already folded into a summary entity (0 when none).</summary>
    public int LastSummarizedSeq
    {
        get
        {
            var last = 0;
            foreach (var state in _summaries)
            {
                if (state.Current!.Attributes.TryGetValue(RollingSummarizer.ToSeqAttribute, out var to)
                    && int.TryParse(to, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)) last = Math.Max(last, value);
            }
            return last;
        }
    }

    /// <summary>The live summary entities, in no particular order.</summary>
    public IEnumerable<MemoryEntity> Summaries() => _summaries.Select(s => s.Current!);

    /// <summary>Edges touching an entity (both directions), with both ends resolved to live entities.</summary>
    public IReadOnlyList<MemoryRelation> Relations(string entityId)
    {
        if (Get(entityId) is not { } entity) return [];
        var result = new HashSet<MemoryRelation>();
        // Edges an entity states about itself are not indexed under its own id (one set per entity for nothing).
        Collect(_states[entityId].Edges);
        foreach (var key in EndKeys(entity))
        {
            if (_edgesByEnd.TryGetValue(key, out var edges)) Collect(edges);
        }
        return result.OrderBy(r => r.FromId, StringComparer.Ordinal).ThenBy(r => r.Kind, StringComparer.Ordinal)
            .ThenBy(r => r.ToId, StringComparer.Ordinal).ToList();

        void Collect(IEnumerable<RelationEdge> edges)
        {
            foreach (var edge in edges)
            {
                if (Resolve(edge.Source) is { } from && Resolve(edge.Target) is { } to && from != to && (from == entityId || to == entityId))
                    result.Add(new MemoryRelation(from, edge.Kind, to));
            }
        }
    }

    private bool ApplyUpsert(MemoryOp op, int seq)
    {
        var id = op.EntityId!;
        _states.TryGetValue(id, out var state);
        var current = state?.Current;
        var (attributes, aliases, importance) = SplitSpecialAttributes(op.Attributes);

        MemoryEntity next;
        if (current is null)
        {
            var created = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in attributes) if (value.Length > 0) created[key] = value;
            next = new MemoryEntity
            {
                EntityId = id,
                Type = op.Type,
                Name = op.Name,
                Content = op.Content ?? "",
                Attributes = created,
                Aliases = MergeAliases([], aliases ?? [], op.Name),
                Importance = importance ?? DefaultImportance(op.Type),
                FirstSeq = seq,
                LastSeq = seq,
                Version = 1,
            };
        }
        else
        {
            var merged = new Dictionary<string, string>(current.Attributes, StringComparer.Ordinal);
            foreach (var (key, value) in attributes)
            {
                if (value.Length == 0) merged.Remove(key);
                else merged[key] = value;
            }
            var name = op.Name.Length > 0 ? op.Name : current.Name;
            var mergedAliases = aliases is { Count: 0 } ? [] : MergeAliases(current.Aliases, aliases ?? [], name);
            var content = op.ReplaceContent ? op.Content ?? "" : string.IsNullOrEmpty(op.Content) ? current.Content : op.Content;
            var newImportance = importance ?? current.Importance;
            var changed = name != current.Name || content != current.Content || newImportance != current.Importance
                || !SameAttributes(merged, current.Attributes) || !mergedAliases.SequenceEqual(current.Aliases, StringComparer.Ordinal);
            if (!changed && current.LastSeq == seq) return false;
            next = current with
            {
                Name = name,
                Content = content,
                Attributes = changed ? merged : current.Attributes,
                Aliases = changed ? mergedAliases : current.Aliases,
                Importance = newImportance,
                LastSeq = seq,
                Version = changed ? current.Version + 1 : current.Version,
            };
        }

        state ??= AddState(id);
        Record(state, seq, next);
        return true;
    }

    private bool ApplyDelete(MemoryOp op, int seq)
    {
        if (!_states.TryGetValue(op.EntityId!, out var state) || state.Current is null) return false;
        Record(state, seq, null);
        return true;
    }

    private EntityState AddState(string id)
    {
        var state = new EntityState(id, ShardOf(id, _options.ShardCount));
        _states[id] = state;
        (_shardMembers[state.Shard] ??= new Dictionary<string, EntityState>(StringComparer.Ordinal))[id] = state;
        return state;
    }

    private void Record(EntityState state, int seq, MemoryEntity? value)
    {
        var old = state.Current;
        var revision = new EntityRevision { Seq = seq, Value = value };
        // One revision per turn: the state after the turn is all a rollback needs.
        if (state.Revisions.Count > 0 && state.Revisions[^1].Seq == seq)
        {
            state.Revisions[^1] = revision;
            state.DurableSeq = Math.Min(state.DurableSeq, seq - 1);
        }
        else
        {
            state.Revisions.Add(revision);
        }
        AfterChange(state, old);
    }

    /// <summary>Brings indexes, slots and dirty marks in line with the state's current value.</summary>
    private void AfterChange(EntityState state, MemoryEntity? old)
    {
        // A history that starts with a deletion says nothing a missing entity would not.
        while (state.Revisions.Count > 0 && state.Revisions[0].Value is null) state.Revisions.RemoveAt(0);
        var now = state.Current;
        _dirtyShards.Add(state.Shard);
        if (ReferenceEquals(old, now))
        {
            // Compaction only trims history: nothing to re-index, and the next snapshot stores it (no delta).
        }
        else if (now is null)
        {
            _changed.Add(state.Id);
            Unindex(state, old!);
            _bm25.Remove(state.Slot);
            _vectors?.Clear(state.Slot);
            _slots[state.Slot] = null;
            _freeSlots.Push(state.Slot);
            state.Slot = -1;
            state.Vector = null;
            state.IndexedTextHash = default;
            _staleEmbeddings.Remove(state);
            _liveCount--;
        }
        else
        {
            _changed.Add(state.Id);
            if (old is null)
            {
                state.Slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _slots.Count;
                if (state.Slot == _slots.Count) _slots.Add(state);
                else _slots[state.Slot] = state;
                _liveCount++;
            }
            else
            {
                Unindex(state, old);
            }
            Index(state, now);
            if (old is null || EmbeddingText(old) != EmbeddingText(now))
            {
                state.Vector = null;
                _vectors?.Clear(state.Slot);
                _staleEmbeddings.Add(state);
            }
        }

        if (state.Revisions.Count == 0)
        {
            _states.Remove(state.Id);
            _shardMembers[state.Shard]?.Remove(state.Id);
        }
    }

    private void SetPrior(int slot, MemoryEntity entity)
    {
        if (slot >= _slotImportance.Length) Array.Resize(ref _slotImportance, Math.Max(slot + 1, _slotImportance.Length * 2));
        _slotImportance[slot] = entity.Importance;
        if (!_slotsByLastSeq.TryGetValue(entity.LastSeq, out var bucket)) _slotsByLastSeq[entity.LastSeq] = bucket = [];
        bucket.Add(slot);
        _maxLastSeq = Math.Max(_maxLastSeq, entity.LastSeq);
        _maxImportance = Math.Max(_maxImportance, entity.Importance);
    }

    private void ClearPrior(int slot, int lastSeq)
    {
        if (_slotsByLastSeq.TryGetValue(lastSeq, out var bucket) && bucket.Remove(slot) && bucket.Count == 0) _slotsByLastSeq.Remove(lastSeq);
    }

    private void Index(EntityState state, MemoryEntity entity)
    {
        // The indexed text is built in a reused buffer and remembered by a 128-bit hash, not kept as a string per entity.
        var text = IndexText(entity);
        if (entity.Type == EntityType.Summary) _summaries.Add(state);
        var hash = System.IO.Hashing.XxHash128.HashToUInt128(MemoryMarshal.AsBytes(text));
        if (hash != state.IndexedTextHash)
        {
            _bm25.Set(state.Slot, text);
            state.IndexedTextHash = hash;
        }
        _names.Add(state.Id, ActivationNames(entity));
        foreach (var slug in NameSlugs(entity)) AddToList(_idsByNameSlug, slug, state.Id);
        state.Edges = EdgesOf(entity);
        foreach (var edge in state.Edges)
        {
            if (edge.Source != edge.Owner) AddToSet(edge.Source, edge);
            AddToSet(edge.Target, edge);
        }
        SetPrior(state.Slot, entity);
    }

    private void Unindex(EntityState state, MemoryEntity entity)
    {
        _names.Remove(state.Id, ActivationNames(entity));
        if (entity.Type == EntityType.Summary) _summaries.Remove(state);
        ClearPrior(state.Slot, entity.LastSeq);
        foreach (var slug in NameSlugs(entity))
        {
            if (_idsByNameSlug.TryGetValue(slug, out var ids) && ids.Remove(state.Id) && ids.Count == 0) _idsByNameSlug.Remove(slug);
        }
        foreach (var edge in state.Edges)
        {
            if (edge.Source != edge.Owner) RemoveFromSet(edge.Source, edge);
            RemoveFromSet(edge.Target, edge);
        }
        state.Edges = [];
    }

    private void AddToSet(string key, RelationEdge edge)
    {
        if (!_edgesByEnd.TryGetValue(key, out var set)) _edgesByEnd[key] = set = [];
        set.Add(edge);
    }

    private void RemoveFromSet(string key, RelationEdge edge)
    {
        if (_edgesByEnd.TryGetValue(key, out var set) && set.Remove(edge) && set.Count == 0) _edgesByEnd.Remove(key);
    }

    private static void AddToList(Dictionary<string, List<string>> map, string key, string id)
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = [];
        if (!list.Contains(id)) list.Add(id);
    }

    /// <summary>Names that activate an entity in text; summaries are named "Turns 1-10", so they have none.</summary>
    private static IEnumerable<string> ActivationNames(MemoryEntity entity)
    {
        if (entity.Type == EntityType.Summary) yield break;
        yield return entity.Name;
        foreach (var alias in entity.Aliases) yield return alias;
    }

    private static IEnumerable<string> NameSlugs(MemoryEntity entity)
    {
        var first = EntityIds.Slug(entity.Name);
        if (first.Length > 0) yield return first;
        if (entity.Aliases.Count == 0) yield break;
        var seen = new HashSet<string>(StringComparer.Ordinal) { first };
        foreach (var alias in entity.Aliases)
        {
            var slug = EntityIds.Slug(alias);
            if (slug.Length > 0 && seen.Add(slug)) yield return slug;
        }
    }

    private static IEnumerable<string> EndKeys(MemoryEntity entity) => new[] { entity.EntityId }.Concat(NameSlugs(entity));

    /// <summary>An end is an entity id or a name slug; a name resolves to the lowest-ordered entity type bearing it.</summary>
    private string? Resolve(string key)
    {
        if (_states.TryGetValue(key, out var state) && state.Current is not null) return key;
        if (!_idsByNameSlug.TryGetValue(key, out var ids) || ids.Count == 0) return null;
        return ids.OrderBy(id => _states[id].Current!.Type).ThenBy(id => id, StringComparer.Ordinal).First();
    }

    private static RelationEdge[] EdgesOf(MemoryEntity entity)
    {
        List<RelationEdge>? edges = null;
        foreach (var (key, value) in entity.Attributes)
        {
            if (!RelationKinds.TryMatch(key, out var kind)) continue;
            foreach (var target in SplitList(value)) Add(new RelationEdge(entity.EntityId, entity.EntityId, kind, EndKey(target)));
        }
        if (entity.Type == EntityType.Relationship
            && entity.Attributes.TryGetValue("from", out var from) && entity.Attributes.TryGetValue("to", out var to))
        {
            var kind = entity.Attributes.TryGetValue("kind", out var k) && RelationKinds.TryMatch(k, out var named) ? named : RelationKinds.RelatedTo;
            Add(new RelationEdge(entity.EntityId, EndKey(from), kind, EndKey(to)));
        }
        return edges is null ? [] : [.. edges];

        void Add(RelationEdge edge)
        {
            if (edge.Source.Length == 0 || edge.Target.Length == 0) return;
            edges ??= new List<RelationEdge>(2);
            if (!edges.Contains(edge)) edges.Add(edge);
        }

        static string EndKey(string text) => EntityIds.TryParse(text.Trim(), out _) ? text.Trim() : EntityIds.Slug(text);
    }

    private static readonly char[] ListSeparators = [',', ';', '，', '；', '、', '|'];

    private static IEnumerable<string> SplitList(string value) =>
        value.Split(ListSeparators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>"aliases" and "importance" are fields, not attributes; everything else stays an attribute.</summary>
    private static (List<KeyValuePair<string, string>> Attributes, List<string>? Aliases, double? Importance) SplitSpecialAttributes(
        Dictionary<string, string>? attributes)
    {
        var rest = new List<KeyValuePair<string, string>>();
        List<string>? aliases = null;
        double? importance = null;
        if (attributes is null) return (rest, aliases, importance);
        foreach (var pair in attributes)
        {
            switch (pair.Key.ToLowerInvariant())
            {
                case "aliases" or "alias" or "aka":
                    aliases = [.. SplitList(pair.Value)];
                    break;
                case "importance" when double.TryParse(pair.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                                       && double.IsFinite(value):
                    importance = Math.Round(Math.Clamp(value > 1 ? value / 10 : value, 0, 1), 3);
                    break;
                default:
                    rest.Add(pair);
                    break;
            }
        }
        return (rest, aliases, importance);
    }

    private static List<string> MergeAliases(List<string> existing, List<string> added, string name)
    {
        var result = new List<string>(existing);
        foreach (var alias in added)
        {
            if (alias.Length == 0 || alias.Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
            if (!result.Contains(alias, StringComparer.OrdinalIgnoreCase)) result.Add(alias);
        }
        result.RemoveAll(a => a.Equals(name, StringComparison.OrdinalIgnoreCase));
        return result;
    }

    private static bool SameAttributes(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    /// <summary>Open threads and people matter more than objects when the budget is tight.</summary>
    public static double DefaultImportance(EntityType type) => type switch
    {
        EntityType.Plotline => 0.8,
        EntityType.Character => 0.7,
        EntityType.Summary or EntityType.Fact => 0.6,
        EntityType.Item => 0.4,
        _ => 0.5,
    };

    // One scratch per thread, not per memory: an idle session kept 4 KiB of builder and buffer for nothing. Safe
    // because the text is used synchronously (hashed and indexed) before the thread can build another.
    [ThreadStatic] private static StringBuilder? t_indexText;
    [ThreadStatic] private static char[]? t_indexTextBuffer;

    /// <summary>The text BM25 indexes for an entity, in this thread's buffer, valid until its next call.</summary>
    private static ReadOnlySpan<char> IndexText(MemoryEntity entity)
    {
        var sb = (t_indexText ??= new StringBuilder(1024)).Clear();
        // The name twice: a query naming an entity should rank it above ones that merely mention it.
        sb.Append(entity.Name).Append(' ').Append(entity.Name).Append(' ');
        foreach (var alias in entity.Aliases) sb.Append(alias).Append(' ');
        sb.Append(entity.Content);
        foreach (var (key, value) in entity.Attributes)
        {
            if (key is RollingSummarizer.FromSeqAttribute or RollingSummarizer.ToSeqAttribute) continue;
            sb.Append(' ').Append(value);
        }
        var buffer = t_indexTextBuffer ??= new char[1024];
        if (buffer.Length < sb.Length) t_indexTextBuffer = buffer = new char[Math.Max(sb.Length, buffer.Length * 2)];
        sb.CopyTo(0, buffer, sb.Length);
        var length = sb.Length;
        if (sb.Capacity > 64 * 1024) sb.Clear().Capacity = 1024; // one huge entity should not pin a huge builder
        if (buffer.Length > 64 * 1024) t_indexTextBuffer = null; // nor a huge buffer, once this text is used
        return buffer.AsSpan(0, length);
    }

    private static string EmbeddingText(MemoryEntity entity)
    {
        var sb = new StringBuilder(entity.Name.Length + entity.Content.Length + 64);
        sb.Append(entity.Name).Append(". ");
        if (entity.Aliases.Count > 0) sb.AppendJoin(", ", entity.Aliases).Append(". ");
        sb.Append(entity.Content);
        foreach (var (key, value) in entity.Attributes)
        {
            if (key is RollingSummarizer.FromSeqAttribute or RollingSummarizer.ToSeqAttribute) continue;
            sb.Append(' ').Append(key).Append(' ').Append(value);
        }
        return sb.Length > 4000 ? sb.ToString(0, 4000) : sb.ToString();
    }

    /// <summary>
    /// Folds history older than <see cref="MemoryOptions.HistoryTurns"/> into one base revision per entity. It runs
    /// in batches (every tenth of the window) so that steady play does not rewrite every shard every turn.
    /// </summary>
    private void CompactIfDue()
    {
        if (_options.HistoryTurns == 0) return;
        var cutoff = _headSeq - _options.HistoryTurns;
        if (cutoff - _floorSeq < Math.Max(1, _options.HistoryTurns / 10)) return;
        foreach (var state in _states.Values.ToList())
        {
            if (!TrimToFloor(state.Revisions, cutoff)) continue;
            var current = state.Current;
            AfterChange(state, current);
        }
        _floorSeq = cutoff;
    }

    /// <summary>
    /// Drops history older than <paramref name="floor"/>, keeping the last revision at or below it (the state as of
    /// the floor). Loading applies the same rule, so stored rows that predate a compaction load to the same history.
    /// Returns whether anything was dropped or the history now starts with a deletion.
    /// </summary>
    private static bool TrimToFloor(List<EntityRevision> revisions, int floor)
    {
        var older = 0;
        while (older < revisions.Count && revisions[older].Seq <= floor) older++;
        if (older < 2 && !(older == 1 && revisions[0].Value is null)) return false;
        revisions.RemoveRange(0, older - 1);
        return true;
    }
}
