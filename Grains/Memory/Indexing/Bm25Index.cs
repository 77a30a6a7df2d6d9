namespace Loom.Memory;

/// <summary>
/// Okapi BM25 over entity text, maintained incrementally: documents are indexed by slot, and each slot keeps its
/// term counts so an update removes exactly what it added.
/// </summary>
internal sealed class Bm25Index
{
    private const float K1 = 1.2f;
    private const float B = 0.75f;
    private const int MaxQueryTerms = 64;

    private readonly Dictionary<string, Dictionary<int, int>> _postings = new(StringComparer.Ordinal);
    private KeyValuePair<string, int>[]?[] _docTerms = new KeyValuePair<string, int>[]?[64];
    private int[] _docLength = new int[64];
    private float[] _scores = new float[64];
    private long _totalLength;
    private int _docCount;

    public void Set(int slot, string text)
    {
        Remove(slot);
        Grow(slot);
        var terms = new List<string>();
        TextAnalyzer.IndexTerms(text, terms);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var term in terms) counts[term] = counts.GetValueOrDefault(term) + 1;
        var docTerms = counts.ToArray();
        foreach (var (term, tf) in docTerms)
        {
            if (!_postings.TryGetValue(term, out var postings)) _postings[term] = postings = new Dictionary<int, int>();
            postings[slot] = tf;
        }
        _docTerms[slot] = docTerms;
        _docLength[slot] = terms.Count;
        _totalLength += terms.Count;
        _docCount++;
    }

    public void Remove(int slot)
    {
        if (slot >= _docTerms.Length || _docTerms[slot] is not { } docTerms) return;
        foreach (var (term, _) in docTerms)
        {
            var postings = _postings[term];
            postings.Remove(slot);
            if (postings.Count == 0) _postings.Remove(term);
        }
        _docTerms[slot] = null;
        _totalLength -= _docLength[slot];
        _docLength[slot] = 0;
        _docCount--;
    }

    /// <summary>Top <paramref name="limit"/> slots by BM25 score for <paramref name="query"/>, best first.</summary>
    public List<(int Slot, float Score)> Search(string query, int limit, Comparison<int> tieBreak)
    {
        var result = new List<(int, float)>();
        if (_docCount == 0 || limit <= 0) return result;
        var terms = new List<string>();
        TextAnalyzer.IndexTerms(query, terms);
        var unique = terms.Distinct(StringComparer.Ordinal)
            .Select(t => (Term: t, Postings: _postings.GetValueOrDefault(t)))
            .Where(t => t.Postings is not null)
            .OrderBy(t => t.Postings!.Count) // rarest first: the most telling terms survive the cap
            .Take(MaxQueryTerms)
            .ToList();
        if (unique.Count == 0) return result;

        var touched = new List<int>();
        var avgdl = (float)_totalLength / _docCount;
        foreach (var (_, postings) in unique)
        {
            var df = postings!.Count;
            var idf = MathF.Log(1 + (_docCount - df + 0.5f) / (df + 0.5f));
            foreach (var (slot, tf) in postings)
            {
                if (_scores[slot] == 0) touched.Add(slot);
                var norm = tf + K1 * (1 - B + B * _docLength[slot] / avgdl);
                _scores[slot] += idf * tf * (K1 + 1) / norm;
            }
        }

        // Common terms touch thousands of documents: keep the best `limit` in a min-heap (root = weakest kept,
        // ties broken by tieBreak so the cut is deterministic) instead of sorting every touched document.
        var weaker = Comparer<(float Score, int Slot)>.Create((x, y) =>
            x.Score != y.Score ? x.Score.CompareTo(y.Score) : tieBreak(y.Slot, x.Slot));
        var heap = new PriorityQueue<int, (float Score, int Slot)>(limit + 1, weaker);
        foreach (var slot in touched)
        {
            var candidate = (_scores[slot], slot);
            _scores[slot] = 0;
            if (heap.Count < limit) heap.Enqueue(slot, candidate);
            else if (heap.TryPeek(out _, out var weakest) && weaker.Compare(candidate, weakest) > 0) heap.EnqueueDequeue(slot, candidate);
        }
        while (heap.TryDequeue(out var slot, out var key)) result.Add((slot, key.Score));
        result.Sort((a, b) => b.Item2 != a.Item2 ? b.Item2.CompareTo(a.Item2) : tieBreak(a.Item1, b.Item1));
        return result;
    }

    private void Grow(int slot)
    {
        if (slot < _docTerms.Length) return;
        var size = Math.Max(slot + 1, _docTerms.Length * 2);
        Array.Resize(ref _docTerms, size);
        Array.Resize(ref _docLength, size);
        Array.Resize(ref _scores, size);
    }
}
