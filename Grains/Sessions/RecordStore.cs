using Loom.Storage;

namespace Loom.Sessions;

/// <summary>
/// Numbered records a session keeps beside its header, each in its own storage row ("{prefix}.{n}" under the
/// session's grain id): committed turns ("session.turn.{ordinal}"), audit entries, memory shards and deltas.
/// Writing one costs the same however many others exist. Writes are staged in a <see cref="RowUnit"/> and become
/// durable with the header's commit; recently used and staged records are cached.
/// </summary>
public sealed class RecordStore<T>(IGrainRowStore store, GrainId owner, string prefix, int cacheSize) where T : class
{
    private readonly Dictionary<long, T?> _cache = new();
    private readonly LinkedList<long> _lru = new();

    public string StateName(long number) => $"{prefix}.{number}";

    public async Task<T?> ReadAsync(long number)
    {
        if (_cache.TryGetValue(number, out var cached)) return cached;
        var row = await store.ReadAsync(owner, StateName(number));
        var record = row?.Payload is { } payload ? store.Deserialize<T>(payload) : null;
        Remember(number, record);
        return record;
    }

    /// <summary>Reads many records in one round trip (cached ones from memory), preserving order, skipping missing ones.</summary>
    public async Task<List<T>> ReadManyAsync(IEnumerable<long> numbers)
    {
        var wanted = numbers.ToList();
        var found = new Dictionary<long, T?>();
        var missing = new List<long>();
        foreach (var n in wanted)
        {
            if (_cache.TryGetValue(n, out var cached)) found[n] = cached;
            else missing.Add(n);
        }
        if (missing.Count > 0)
        {
            var rows = (await store.ReadManyAsync(owner, missing.Select(StateName).ToList())).ToDictionary(r => r.Name, StringComparer.Ordinal);
            foreach (var n in missing)
            {
                var record = rows.TryGetValue(StateName(n), out var row) && row.Payload is { } p ? store.Deserialize<T>(p) : null;
                found[n] = record;
                Remember(n, record);
            }
        }
        return wanted.Select(n => found[n]).Where(r => r is not null).Select(r => r!).ToList();
    }

    /// <summary>
    /// Stages a write. This activation reads it at once: the header it belongs with may already count it (a turn
    /// leaves the pending queue as its commit starts), and a read in between must not find the row missing. If the
    /// unit is abandoned instead, the cached value is dropped.
    /// </summary>
    public void Put(RowUnit unit, long number, T record)
    {
        unit.Put(StateName(number), record);
        Remember(number, record);
        unit.OnAbandoned(() => Forget(number));
    }

    public void Delete(RowUnit unit, long number)
    {
        unit.Delete(StateName(number));
        Remember(number, null);
        unit.OnAbandoned(() => Forget(number));
    }

    private void Forget(long number)
    {
        if (_cache.Remove(number)) _lru.Remove(number);
    }

    private void Remember(long number, T? record)
    {
        if (_cache.TryAdd(number, record)) _lru.AddLast(number);
        else _cache[number] = record;
        while (_cache.Count > cacheSize && _lru.First is { } oldest)
        {
            _lru.RemoveFirst();
            _cache.Remove(oldest.Value);
        }
    }
}
