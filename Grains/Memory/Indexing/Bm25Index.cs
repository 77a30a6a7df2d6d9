using System.Runtime.CompilerServices;

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

    /// <summary>
    /// One term and the documents that contain it (slot → term frequency). Most terms of a small memory occur in one
    /// document, so the first posting is held inline and a dictionary is made only for a second one: a dictionary
    /// per term was a third of what a new session's memory held.
    /// </summary>
    private sealed class Term(string text)
    {
        public string Text { get; } = text;

        private int _slot = -1;
        private int _frequency;
        private Dictionary<int, int>? _more;

        // Identity semantics with the text's hash (the runtime's object-header hash is slower and can lock).
        private readonly int _hash = string.GetHashCode(text);

        /// <summary>Documents that contain the term.</summary>
        public int Count => _more?.Count ?? (_slot >= 0 ? 1 : 0);

        public void Set(int slot, int frequency)
        {
            if (_more is not null) _more[slot] = frequency;
            else if (_slot < 0 || _slot == slot) (_slot, _frequency) = (slot, frequency);
            else
            {
                _more = new Dictionary<int, int> { [_slot] = _frequency, [slot] = frequency };
                _slot = -1;
            }
        }

        public void Remove(int slot)
        {
            if (_more is not null) _more.Remove(slot);
            else if (_slot == slot) _slot = -1;
        }

        /// <summary>The single posting when there is exactly one held inline; otherwise use <see cref="Many"/>.</summary>
        public bool TryGetSingle(out int slot, out int frequency)
        {
            (slot, frequency) = (_slot, _frequency);
            return _more is null && _slot >= 0;
        }

        public Dictionary<int, int>? Many => _more;

        public override int GetHashCode() => _hash;

        public override bool Equals(object? obj) => ReferenceEquals(this, obj);
    }

    private readonly Dictionary<string, Term> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Term>.AlternateLookup<ReadOnlySpan<char>> _termLookup;
    // Per thread, not per index: a document's term counts are gathered and cleared within one call.
    [ThreadStatic] private static Dictionary<Term, int>? t_scratch;
    private readonly List<int> _touched = [];
    private KeyValuePair<Term, int>[]?[] _docTerms;
    private int[] _docLength;
    private float[] _scores;
    private long _totalLength;
    private int _docCount;

    public Bm25Index(int capacity = 64)
    {
        _termLookup = _terms.GetAlternateLookup<ReadOnlySpan<char>>();
        capacity = Math.Max(capacity, 1);
        _docTerms = new KeyValuePair<Term, int>[]?[capacity];
        _docLength = new int[capacity];
        _scores = new float[capacity];
    }

    public void Set(int slot, ReadOnlySpan<char> text)
    {
        Remove(slot);
        Grow(slot);
        var length = 0;
        var scratch = t_scratch ??= new Dictionary<Term, int>();
        scratch.Clear(); // empty unless a call on this thread threw half-way: another index's terms must not leak in
        var terms = new IndexTermEnumerator(text, stackalloc char[IndexTermEnumerator.BufferLength]);
        while (terms.MoveNext())
        {
            var span = terms.Current;
            if (!_termLookup.TryGetValue(span, out var term))
            {
                term = new Term(span.ToString());
                _terms.Add(term.Text, term);
            }
            scratch[term] = scratch.GetValueOrDefault(term) + 1;
            length++;
        }
        var docTerms = new KeyValuePair<Term, int>[scratch.Count];
        var k = 0;
        foreach (var pair in scratch)
        {
            pair.Key.Set(slot, pair.Value);
            docTerms[k++] = pair;
        }
        scratch.Clear();
        if (scratch.EnsureCapacity(0) > 4096) t_scratch = null; // one huge document should not pin a huge table
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
            term.Remove(slot);
            if (term.Count == 0) _terms.Remove(term.Text);
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
        unique = [.. unique.OrderBy(t => t.Count).Take(MaxQueryTerms)];

        var touched = _touched;
        touched.Clear();
        var avgdl = (float)_totalLength / _docCount;
        foreach (var term in unique)
        {
            var df = term.Count;
            var idf = MathF.Log(1 + (_docCount - df + 0.5f) / (df + 0.5f));
            if (term.TryGetSingle(out var single, out var frequency)) Score(single, frequency, idf);
            else
                foreach (var (slot, tf) in term.Many!) Score(slot, tf, idf);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Score(int slot, int tf, float idf)
        {
            if (_scores[slot] == 0) touched.Add(slot);
            var norm = tf + K1 * (1 - B + B * _docLength[slot] / avgdl);
            _scores[slot] += idf * tf * (K1 + 1) / norm;
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
