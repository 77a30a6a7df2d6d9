namespace Loom.Memory;

/// <summary>
/// Okapi BM25 over entity text, maintained incrementally: documents are indexed by slot, and each slot keeps its
/// term counts so an update removes exactly what it added. Terms are interned once and looked up by span, so
/// indexing a document allocates nothing per word (a 10k-entity session is re-indexed on every activation).
/// </summary>
internal sealed class Bm25Index
{
    private const float K1 = 1.2f;
    private const float B = 0.75f;
    private const int MaxQueryTerms = 64;

    /// <summary>One term and the documents that contain it (slot → term frequency).</summary>
    private sealed class Term(string text)
    {
        public string Text { get; } = text;
        public Dictionary<int, int> Postings { get; } = new();

        // Identity semantics with the text's hash (the runtime's object-header hash is slower and can lock).
        private readonly int _hash = string.GetHashCode(text);

        public override int GetHashCode() => _hash;

        public override bool Equals(object? obj) => ReferenceEquals(this, obj);
    }

    private readonly Dictionary<string, Term> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Term>.AlternateLookup<ReadOnlySpan<char>> _termLookup;
    private readonly Dictionary<Term, int> _scratch = new();
    private readonly List<int> _touched = [];
    private KeyValuePair<Term, int>[]?[] _docTerms = new KeyValuePair<Term, int>[]?[64];
    private int[] _docLength = new int[64];
    private float[] _scores = new float[64];
    private long _totalLength;
    private int _docCount;

    public Bm25Index(int capacity = 64)
    {
        _termLookup = _terms.GetAlternateLookup<ReadOnlySpan<char>>();
        Grow(Math.Max(capacity, 1) - 1);
    }

    public void Set(int slot, ReadOnlySpan<char> text)
    {
        Remove(slot);
        Grow(slot);
        var length = 0;
        var terms = new IndexTermEnumerator(text, stackalloc char[IndexTermEnumerator.BufferLength]);
        while (terms.MoveNext())
        {
            var span = terms.Current;
            if (!_termLookup.TryGetValue(span, out var term))
            {
                term = new Term(span.ToString());
                _terms.Add(term.Text, term);
            }
            _scratch[term] = _scratch.GetValueOrDefault(term) + 1;
            length++;
        }
        var docTerms = new KeyValuePair<Term, int>[_scratch.Count];
        var k = 0;
        foreach (var pair in _scratch)
        {
            pair.Key.Postings[slot] = pair.Value;
            docTerms[k++] = pair;
        }
        _scratch.Clear();
        _docTerms[slot] = docTerms;
        _docLength[slot] = length;
        _totalLength += length;
        _docCount++;
    }

    public void Remove(int slot)
    {
        if (slot >= _docTerms.Length || _docTerms[slot] is not { } docTerms) return;
        foreach (var (term, _) in docTerms)
        {
            term.Postings.Remove(slot);
            if (term.Postings.Count == 0) _terms.Remove(term.Text);
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
        var unique = new List<Term>();
        var terms = new IndexTermEnumerator(query, stackalloc char[IndexTermEnumerator.BufferLength]);
        while (terms.MoveNext())
        {
            if (_termLookup.TryGetValue(terms.Current, out var term) && !unique.Contains(term)) unique.Add(term);
        }
        if (unique.Count == 0) return result;
        // Rarest first (stable, so ties keep query order): the most telling terms survive the cap.
        unique = [.. unique.OrderBy(t => t.Postings.Count).Take(MaxQueryTerms)];

        var touched = _touched;
        touched.Clear();
        var avgdl = (float)_totalLength / _docCount;
        foreach (var term in unique)
        {
            var df = term.Postings.Count;
            var idf = MathF.Log(1 + (_docCount - df + 0.5f) / (df + 0.5f));
            foreach (var (slot, tf) in term.Postings)
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
        var weakest = float.NegativeInfinity;
        foreach (var slot in touched)
        {
            var score = _scores[slot];
            _scores[slot] = 0;
            var candidate = (score, slot);
            if (heap.Count < limit) heap.Enqueue(slot, candidate);
            else if (score >= weakest && heap.TryPeek(out _, out var root) && weaker.Compare(candidate, root) > 0) heap.EnqueueDequeue(slot, candidate);
            else continue;
            if (heap.Count == limit && heap.TryPeek(out _, out var kept)) weakest = kept.Score;
        }
        touched.Clear();
        if (touched.Capacity > 4096 && touched.Capacity > 4 * _docCount) touched.Capacity = 4096;
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
