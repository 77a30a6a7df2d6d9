using System.Numerics.Tensors;

namespace Loom.Memory;

/// <summary>
/// Exact nearest neighbours by cosine (vectors are unit length, so a dot product), brute force: at ten thousand
/// entities a scan is well under a millisecond and needs no approximate index.
/// <para>
/// The matrix is stored column by column (dimension-major): a search adds <c>query[d] × column d</c> into one score
/// per slot, streaming each column once. Dimensions where the query is zero are skipped outright, and the local
/// hashing embedder's queries are mostly zeros, so a typical search reads a fifth of the matrix.
/// </para>
/// </summary>
internal sealed class VectorIndex
{
    private readonly int _dimensions;
    private int _capacity;
    private int _used;
    private float[] _columns;
    private bool[] _present;
    private float[] _scores;

    public VectorIndex(int dimensions, int capacity = 64)
    {
        _dimensions = dimensions;
        _capacity = Math.Max(capacity, 1);
        _columns = new float[_capacity * dimensions];
        _present = new bool[_capacity];
        _scores = new float[_capacity];
    }

    public int Dimensions => _dimensions;

    public void Set(int slot, ReadOnlySpan<float> vector)
    {
        if (vector.Length != _dimensions) throw new ArgumentException($"Expected {_dimensions} dimensions, got {vector.Length}.");
        Grow(slot);
        // Consecutive slots write neighbouring floats of the same columns, so loading slot after slot stays in cache.
        var columns = _columns;
        for (var d = 0; d < vector.Length; d++) columns[d * _capacity + slot] = vector[d];
        _present[slot] = true;
        _used = Math.Max(_used, slot + 1);
    }

    public void Clear(int slot)
    {
        if (slot < _present.Length) _present[slot] = false;
    }

    public List<(int Slot, float Score)> Search(ReadOnlySpan<float> query, int limit, Comparison<int> tieBreak)
    {
        if (limit <= 0 || query.Length != _dimensions) return [];
        var n = _used;
        var scores = _scores.AsSpan(0, n);
        scores.Clear();
        for (var d = 0; d < query.Length; d++)
        {
            var weight = query[d];
            if (weight == 0) continue;
            TensorPrimitives.MultiplyAdd(_columns.AsSpan(d * _capacity, n), weight, scores, scores);
        }

        // Min-heap of the best `limit` so far: the root is the weakest kept hit.
        var heap = new PriorityQueue<int, float>(limit + 1);
        var weakest = float.NegativeInfinity;
        var present = _present;
        for (var slot = 0; slot < n; slot++)
        {
            if (!present[slot]) continue;
            var score = scores[slot];
            if (heap.Count < limit) heap.Enqueue(slot, score);
            else if (score > weakest) heap.EnqueueDequeue(slot, score);
            else continue;
            if (heap.Count == limit) heap.TryPeek(out _, out weakest);
        }
        var result = new List<(int, float)>(heap.Count);
        while (heap.TryDequeue(out var hit, out var score)) result.Add((hit, score));
        result.Sort((a, b) => b.Item2 != a.Item2 ? b.Item2.CompareTo(a.Item2) : tieBreak(a.Item1, b.Item1));
        return result;
    }

    private void Grow(int slot)
    {
        if (slot < _capacity) return;
        var capacity = Math.Max(slot + 1, _capacity * 2);
        var columns = new float[capacity * _dimensions];
        for (var d = 0; d < _dimensions; d++) Array.Copy(_columns, d * _capacity, columns, d * capacity, _capacity);
        _columns = columns;
        Array.Resize(ref _present, capacity);
        _scores = new float[capacity];
        _capacity = capacity;
    }
}
