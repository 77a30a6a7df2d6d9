using System.Numerics.Tensors;

namespace Loom.Memory;

/// <summary>
/// Exact nearest neighbours by cosine (vectors are unit length, so a dot product) over one contiguous matrix.
/// At ten thousand entities a brute-force SIMD scan is well under a millisecond and needs no approximate index.
/// </summary>
internal sealed class VectorIndex(int dimensions)
{
    private float[] _matrix = new float[64 * dimensions];
    private bool[] _present = new bool[64];

    public int Dimensions => dimensions;

    public void Set(int slot, ReadOnlySpan<float> vector)
    {
        if (vector.Length != dimensions) throw new ArgumentException($"Expected {dimensions} dimensions, got {vector.Length}.");
        Grow(slot);
        vector.CopyTo(_matrix.AsSpan(slot * dimensions, dimensions));
        _present[slot] = true;
    }

    public void Clear(int slot)
    {
        if (slot < _present.Length) _present[slot] = false;
    }

    public bool Has(int slot) => slot < _present.Length && _present[slot];

    public ReadOnlySpan<float> Get(int slot) => _matrix.AsSpan(slot * dimensions, dimensions);

    public List<(int Slot, float Score)> Search(ReadOnlySpan<float> query, int limit, Comparison<int> tieBreak)
    {
        var result = new List<(int, float)>();
        if (limit <= 0 || query.Length != dimensions) return result;
        // Min-heap of the best `limit` so far: the root is the weakest kept hit.
        var heap = new PriorityQueue<int, float>(limit + 1);
        for (var slot = 0; slot < _present.Length; slot++)
        {
            if (!_present[slot]) continue;
            var score = TensorPrimitives.Dot(query, _matrix.AsSpan(slot * dimensions, dimensions));
            if (heap.Count < limit) heap.Enqueue(slot, score);
            else if (heap.TryPeek(out _, out var weakest) && score > weakest) heap.EnqueueDequeue(slot, score);
        }
        while (heap.TryDequeue(out var slot, out var score)) result.Add((slot, score));
        result.Sort((a, b) => b.Item2 != a.Item2 ? b.Item2.CompareTo(a.Item2) : tieBreak(a.Item1, b.Item1));
        return result;
    }

    private void Grow(int slot)
    {
        if (slot < _present.Length) return;
        var size = Math.Max(slot + 1, _present.Length * 2);
        Array.Resize(ref _present, size);
        Array.Resize(ref _matrix, size * dimensions);
    }
}
