using Loom.Errors;

namespace Loom.Memory;

public sealed partial class WorldMemory
{
    // Reciprocal rank fusion: rank r in a list adds weight / (RrfK + r). K = 60 is the usual choice; it lets
    // agreement between lists outweigh a single list's top spot.
    private const double RrfK = 60;
    private const int CandidateDepth = 40;
    private const double NameHitBonus = 5;

    /// <summary>
    /// Searches memory. keyword: BM25 over name, aliases, content and attribute values, plus a bonus for entities
    /// named in the query; vector: cosine similarity of embeddings; hybrid: reciprocal rank fusion of both.
    /// </summary>
    /// <remarks>With <paramref name="asOfSeq"/>, each hit is the entity as it was after that turn (hits that did not exist
    /// then are left out); the ranking is the current one's, so an entity a later turn deleted is not found, and one a
    /// later turn changed ranks by its new text.</remarks>
    public async Task<IReadOnlyList<ScoredEntity>> SearchAsync(string query, SearchMode mode, int limit, CancellationToken ct = default, int? asOfSeq = null)
    {
        if (string.IsNullOrWhiteSpace(query)) throw Problems.Invalid("query", "query must not be empty.");
        if (limit < 1) throw Problems.Invalid("limit", "limit must be at least 1.");
        if (!Enum.IsDefined(mode)) throw Problems.Invalid("mode", "mode must be keyword, vector or hybrid.");
        var depth = Math.Max(limit, CandidateDepth);
        // As of an earlier turn some hits drop out: rank deeper so that up to limit remain.
        var wanted = asOfSeq is null ? limit : depth;
        List<(EntityState State, double Score)> ranked = mode switch
        {
            SearchMode.Keyword => KeywordRanking(query, wanted),
            SearchMode.Vector => await VectorRankingAsync(query, wanted, ct),
            _ => FuseScored([(KeywordRanking(query, depth), 1.0), (await VectorRankingAsync(query, depth, ct), 1.0)]),
        };
        return ranked
            .Select(r => (Entity: ValueAsOf(r.State, asOfSeq), r.Score))
            .Where(r => r.Entity is not null)
            .Take(limit)
            .Select(r => new ScoredEntity { Entity = r.Entity!, Score = Math.Round(r.Score, 6) })
            .ToList();
    }

    /// <summary>
    /// The memory block for a prompt, never over <paramref name="tokenBudget"/> tokens. Candidates: entities named
    /// in the input or the recent story (lorebook activation), BM25 and vector matches of the input, neighbours of
    /// the entities the input names, and the most important recent entities; fused by reciprocal rank fusion,
    /// then packed greedily and rendered grouped by type. Entities in <paramref name="exclude"/> (e.g. summaries the
    /// prompt already carries) are left out.
    /// </summary>
    public Task<MemoryRetrieval> RetrieveAsync(string input, string recentStory, int tokenBudget, CancellationToken ct = default,
        IReadOnlySet<string>? exclude = null) =>
        RetrieveAsync(input, [recentStory ?? ""], tokenBudget, ct, exclude);

    /// <inheritdoc cref="RetrieveAsync(string, string, int, CancellationToken, IReadOnlySet{string})"/>
    /// <param name="recentStory">The recent story as its pieces (each turn's input and narrative), read one after another.</param>
    public async Task<MemoryRetrieval> RetrieveAsync(string input, IReadOnlyList<string> recentStory, int tokenBudget, CancellationToken ct = default,
        IReadOnlySet<string>? exclude = null)
    {
        input ??= "";
        recentStory ??= [];
        if (tokenBudget <= 0 || _liveCount == 0) return MemoryRetrieval.Empty;

        var inputNames = _names.Scan(input)
            .OrderByDescending(h => h.Value.Count).ThenBy(h => h.Value.FirstPosition).ThenBy(h => h.Key, StringComparer.Ordinal)
            .Where(h => _states[h.Key].Current is not null).Select(h => (_states[h.Key], (double?)h.Value.Count)).ToList();
        // The latest mention in the story matters most, so rank story hits by their last position.
        var storyNames = _names.Scan(recentStory)
            .OrderByDescending(h => h.Value.LastPosition).ThenByDescending(h => h.Value.Count).ThenBy(h => h.Key, StringComparer.Ordinal)
            .Where(h => _states[h.Key].Current is not null).Select(h => (_states[h.Key], (double?)h.Value.Count)).ToList();
        var lexical = input.Length > 0 ? _bm25.Search(input, CandidateDepth, CompareSlots).Select(r => (_slots[r.Slot]!, (double?)r.Score)).ToList() : [];
        // A model embedder's vectors for new or changed entities are made after the turn, off its critical path
        // (SessionMemoryStore.RefreshAfterTurnAsync): a turn may rank an entity by vector one turn late.
        var semantic = input.Length > 0
            ? (await VectorRankingAsync(input, CandidateDepth, ct, refreshStale: EmbedsInline)).Select(r => (r.State, (double?)r.Score)).ToList()
            : [];
        var named = inputNames.Take(5).Select(n => n.Item1.Id).ToList();
        var neighbours = named.SelectMany(id => Relations(id)).Select(r => r.FromId).Concat(named.SelectMany(id => Relations(id)).Select(r => r.ToId))
            .Distinct().Where(id => inputNames.All(s => s.Item1.Id != id)).Select(id => (_states[id], (double?)null)).ToList();
        var prior = TopByPrior(12).Select(s => (s, (double?)Prior(s.Current!.Importance, s.Current.LastSeq))).ToList();

        Signal[] signals =
        [
            new("name", "input", inputNames, 3.0), new("name", "story", storyNames, 1.0), new("bm25", "input", lexical, 1.5),
            new("vector", "input", semantic, 1.0), new("neighbour", "input", neighbours, 0.5), new("recent", "memory", prior, 0.6),
        ];
        var fused = Fuse(signals.Select(s => (s.Ranked.Select(r => r.State), s.Weight)));
        var packed = Pack(fused.Select(f => f.State).Where(s => exclude is null || !exclude.Contains(s.Id)), tokenBudget);
        return packed.EntityIds.Count == 0 ? packed : packed with { Scores = Explain(packed.EntityIds, fused, signals) };
    }

    /// <summary>One ranked list of retrieval candidates, with its own score per entity where it has one.</summary>
    private sealed record Signal(string Name, string Query, List<(EntityState State, double? Score)> Ranked, double Weight);

    /// <summary>Why each chosen entity was chosen: its fused rank and score, and every list that proposed it (context viewer).</summary>
    /// <remarks>One pass over each list (recall runs on every turn): per entity its first place in each list, in list order.</remarks>
    private static List<Turns.MemoryScore> Explain(List<string> chosen, List<(EntityState State, double Score)> fused, Signal[] signals)
    {
        var slotOf = new Dictionary<string, int>(chosen.Count, StringComparer.Ordinal);
        for (var c = 0; c < chosen.Count; c++) slotOf[chosen[c]] = c;
        var fusedRank = new int[chosen.Count];
        for (var i = 0; i < fused.Count; i++)
        {
            if (slotOf.TryGetValue(fused[i].State.Id, out var c)) fusedRank[c] = i;
        }
        var proposedBy = new List<Turns.MemorySignal>[chosen.Count];
        var lastSignal = new int[chosen.Count]; // 1 + the list that last proposed the entity
        for (var s = 0; s < signals.Length; s++)
        {
            var signal = signals[s];
            for (var i = 0; i < signal.Ranked.Count; i++)
            {
                var (state, score) = signal.Ranked[i];
                if (!slotOf.TryGetValue(state.Id, out var c)) continue;
                if (lastSignal[c] == s + 1) continue;
                lastSignal[c] = s + 1;
                (proposedBy[c] ??= new List<Turns.MemorySignal>(signals.Length)).Add(new Turns.MemorySignal
                {
                    Signal = signal.Name,
                    Query = signal.Query,
                    Rank = i + 1,
                    Score = score is { } value ? Math.Round(value, 4) : null,
                });
            }
        }
        var scores = new List<Turns.MemoryScore>(chosen.Count);
        for (var c = 0; c < chosen.Count; c++)
        {
            scores.Add(new Turns.MemoryScore
            {
                EntityId = chosen[c],
                Rank = fusedRank[c] + 1,
                Score = Math.Round(fused[fusedRank[c]].Score, 6),
                Signals = proposedBy[c] ?? [],
            });
        }
        return scores;
    }

    private MemoryRetrieval Pack(IEnumerable<EntityState> ranked, int tokenBudget)
    {
        var used = _tokens.Count(MemoryRenderer.Heading);
        if (used >= tokenBudget) return MemoryRetrieval.Empty;
        var selected = new List<EntityState>();
        var groups = new HashSet<EntityType>();
        var misses = 0;
        foreach (var state in ranked)
        {
            var entity = state.Current!;
            var (line, lineTokens) = Rendered(state);
            var cost = lineTokens + (groups.Contains(entity.Type) ? 0 : _tokens.Count(MemoryRenderer.GroupHeading(entity.Type)));
            if (used + cost > tokenBudget)
            {
                // Smaller entries further down may still fit; stop after a run of misses.
                if (++misses >= 16) break;
                continue;
            }
            used += cost;
            groups.Add(entity.Type);
            selected.Add(state);
        }

        if (selected.Count == 0) return MemoryRetrieval.Empty;
        // Every piece ends with a newline and the tokenizer's pre-split never joins across one, so the block's count
        // is the sum of its pieces' counts (cached per entity); re-counting a 2,000-token block would cost more than
        // the rest of retrieval. WorldMemorySearchTests check the sum against a full count.
        var body = MemoryRenderer.Body(selected.ConvertAll(s => (s.Current!, s.RenderedLine!)));
        return new MemoryRetrieval { Body = body, Tokens = used, EntityIds = selected.Select(s => s.Id).ToList() };
    }

    private (string Line, int Tokens) Rendered(EntityState state)
    {
        if (!ReferenceEquals(state.RenderedValue, state.Current))
        {
            state.RenderedLine = MemoryRenderer.Line(state.Current!, _options.MaxRenderedContentChars);
            state.RenderedTokens = _tokens.Count(state.RenderedLine);
            state.RenderedValue = state.Current;
        }
        return (state.RenderedLine!, state.RenderedTokens);
    }

    private List<(EntityState State, double Score)> KeywordRanking(string query, int limit)
    {
        var scores = new Dictionary<EntityState, double>();
        foreach (var (slot, score) in _bm25.Search(query, Math.Max(limit, CandidateDepth), CompareSlots)) scores[_slots[slot]!] = score;
        foreach (var (id, hit) in _names.Scan(query))
        {
            var state = _states[id];
            if (state.Current is null) continue;
            scores[state] = scores.GetValueOrDefault(state) + NameHitBonus * hit.Count;
        }
        return Ordered(scores).Take(limit).ToList();
    }

    private async Task<List<(EntityState State, double Score)>> VectorRankingAsync(string query, int limit, CancellationToken ct, bool refreshStale = true)
    {
        if (refreshStale) await RefreshEmbeddingsAsync(ct);
        if (_vectors is null) return [];
        var embeddings = await _embedder.GenerateAsync([query], cancellationToken: ct);
        var vector = embeddings[0].Vector.ToArray();
        Normalize(vector);
        if (vector.Length != _vectors.Dimensions || vector.All(v => v == 0)) return [];
        return _vectors.Search(vector, limit, CompareSlots)
            .Where(r => r.Score > 0)
            .Select(r => (_slots[r.Slot]!, (double)r.Score))
            .ToList();
    }

    private static List<(EntityState State, double Score)> Fuse(IEnumerable<(IEnumerable<EntityState> List, double Weight)> lists)
    {
        var scores = new Dictionary<EntityState, double>();
        foreach (var (list, weight) in lists)
        {
            var rank = 0;
            foreach (var state in list) scores[state] = scores.GetValueOrDefault(state) + weight / (RrfK + rank++);
        }
        return Ordered(scores);
    }

    private static List<(EntityState State, double Score)> FuseScored(IEnumerable<(List<(EntityState State, double Score)> List, double Weight)> lists) =>
        Fuse(lists.Select(l => (l.List.Select(x => x.State), l.Weight)));

    /// <summary>
    /// The <paramref name="count"/> entities with the highest prior, exactly as a full scan would rank them: buckets
    /// of entities are visited from the newest last turn back, and the walk stops once an entity of the highest
    /// importance there is, last touched that long ago, would rank below the weakest one kept. Typically a few
    /// hundred of 10,000 entities are looked at.
    /// </summary>
    private List<EntityState> TopByPrior(int count)
    {
        var weaker = Comparer<(double Prior, int Slot)>.Create((x, y) =>
            x.Prior != y.Prior ? x.Prior.CompareTo(y.Prior) : string.CompareOrdinal(_slots[y.Slot]!.Id, _slots[x.Slot]!.Id));
        var heap = new PriorityQueue<int, (double Prior, int Slot)>(count + 1, weaker);
        var weakest = double.NegativeInfinity;
        var visited = 0;
        for (var seq = Math.Max(_maxLastSeq, _headSeq); seq >= 0 && visited < _liveCount; seq--)
        {
            if (heap.Count == count && Prior(_maxImportance, seq) < weakest) break;
            if (!_slotsByLastSeq.TryGetValue(seq, out var bucket)) continue;
            foreach (var slot in bucket)
            {
                visited++;
                var prior = Prior(_slotImportance[slot], seq);
                var candidate = (prior, slot);
                if (heap.Count < count) heap.Enqueue(slot, candidate);
                else if (prior >= weakest && heap.TryPeek(out _, out var root) && weaker.Compare(candidate, root) > 0) heap.EnqueueDequeue(slot, candidate);
                else continue;
                if (heap.Count == count && heap.TryPeek(out _, out var kept)) weakest = kept.Prior;
            }
        }
        var result = new List<EntityState>(heap.Count);
        while (heap.TryDequeue(out var slot, out _)) result.Add(_slots[slot]!);
        result.Reverse(); // the heap yields weakest first
        return result;
    }

    /// <summary>Importance and recency in equal parts; recency halves about every 25 turns.</summary>
    private double Prior(double importance, int lastSeq) =>
        0.5 * importance + 0.5 / (1 + Math.Max(0, _headSeq - lastSeq) / 25.0);

    private static List<(EntityState State, double Score)> Ordered(Dictionary<EntityState, double> scores) =>
        scores.Select(p => (State: p.Key, Score: p.Value))
            .OrderByDescending(p => p.Score).ThenBy(p => p.State.Id, StringComparer.Ordinal)
            .ToList();

    private int CompareSlots(int a, int b) => string.CompareOrdinal(_slots[a]!.Id, _slots[b]!.Id);
}
