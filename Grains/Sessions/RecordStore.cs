using Orleans.Storage;

namespace Loom.Sessions;

/// <summary>
/// Numbered records a session keeps beside its header, each in its own storage row ("{prefix}.{n}" under the
/// session's grain id): committed turns ("session.turn.{ordinal}") and memory shards ("memory.shard.{i}").
/// Writing one costs the same however many others exist. Only the owning session grain touches them, so
/// ETags stay consistent without locking; recently used records are cached with their ETags.
/// </summary>
public sealed class RecordStore<T>(IGrainStorage storage, GrainId owner, string prefix, int cacheSize) where T : class
{
    private readonly Dictionary<long, GrainState<T>> _cache = new();
    private readonly LinkedList<long> _lru = new();

    public string StateName(long number) => $"{prefix}.{number}";

    public async Task<T?> ReadAsync(long number)
    {
        if (_cache.TryGetValue(number, out var cached)) return cached.RecordExists ? cached.State : null;
        var state = new GrainState<T>();
        await storage.ReadStateAsync(StateName(number), owner, state);
        Remember(number, state);
        return state.RecordExists ? state.State : null;
    }

    /// <summary>Reads many records concurrently (storage round trips dominate), preserving order, skipping missing ones.</summary>
    public async Task<List<T>> ReadManyAsync(IEnumerable<long> numbers)
    {
        var results = await Task.WhenAll(numbers.Select(ReadAsync));
        return results.Where(r => r is not null).Select(r => r!).ToList();
    }

    public async Task WriteAsync(long number, T record)
    {
        if (!_cache.TryGetValue(number, out var state))
        {
            state = new GrainState<T>();
            // A record may already exist (e.g. a commit retried after a crash): read it to learn its ETag.
            await storage.ReadStateAsync(StateName(number), owner, state);
        }
        var previous = state.State;
        state.State = record;
        try
        {
            await storage.WriteStateAsync(StateName(number), owner, state);
        }
        catch
        {
            state.State = previous;
            _cache.Remove(number);
            throw;
        }
        Remember(number, state);
    }

    /// <summary>
    /// Writes a record expected not to exist yet without reading it first (one round trip instead of two); if it
    /// does exist (e.g. left by a write whose caller crashed), its ETag is read and the write repeated.
    /// </summary>
    public async Task WriteNewAsync(long number, T record)
    {
        if (_cache.ContainsKey(number))
        {
            await WriteAsync(number, record);
            return;
        }
        var state = new GrainState<T> { State = record };
        try
        {
            await storage.WriteStateAsync(StateName(number), owner, state);
        }
        catch (InconsistentStateException)
        {
            await WriteAsync(number, record);
            return;
        }
        Remember(number, state);
    }

    public async Task DeleteAsync(long number)
    {
        var state = _cache.GetValueOrDefault(number);
        if (state is null)
        {
            state = new GrainState<T>();
            await storage.ReadStateAsync(StateName(number), owner, state);
        }
        if (state.RecordExists) await storage.ClearStateAsync(StateName(number), owner, state);
        _cache.Remove(number);
    }

    private void Remember(long number, GrainState<T> state)
    {
        if (_cache.TryAdd(number, state)) _lru.AddLast(number);
        else _cache[number] = state;
        while (_cache.Count > cacheSize && _lru.First is { } oldest)
        {
            _lru.RemoveFirst();
            _cache.Remove(oldest.Value);
        }
    }
}
