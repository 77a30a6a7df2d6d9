using Orleans.Storage;

namespace Loom.Sessions;

/// <summary>
/// The session's committed turns, one storage record per turn ("session.turn.{ordinal}" under the session's
/// grain id). Writing a turn costs the same at turn 10 and turn 10,000: nothing else is rewritten.
/// Only the owning session grain touches these records, so ETags stay consistent without locking.
/// </summary>
public sealed class TurnJournal(IGrainStorage storage, GrainId owner, int cacheSize)
{
    private readonly Dictionary<long, GrainState<TurnRecord>> _cache = new();
    private readonly LinkedList<long> _lru = new();

    public static string StateName(long ordinal) => $"session.turn.{ordinal}";

    public async Task<TurnRecord?> ReadAsync(long ordinal)
    {
        if (_cache.TryGetValue(ordinal, out var cached)) return cached.State;
        var state = new GrainState<TurnRecord>();
        await storage.ReadStateAsync(StateName(ordinal), owner, state);
        if (!state.RecordExists || state.State is null) return null;
        Remember(ordinal, state);
        return state.State;
    }

    /// <summary>Reads many records concurrently (storage round trips dominate), preserving order.</summary>
    public async Task<List<TurnRecord>> ReadManyAsync(IEnumerable<long> ordinals)
    {
        var tasks = ordinals.Select(ReadAsync).ToList();
        var results = await Task.WhenAll(tasks);
        return results.Where(r => r is not null).Select(r => r!).ToList();
    }

    public async Task WriteAsync(TurnRecord record)
    {
        if (!_cache.TryGetValue(record.Ordinal, out var state))
        {
            state = new GrainState<TurnRecord>();
            // A record may already exist (a commit retried after a crash): read it to learn its ETag.
            await storage.ReadStateAsync(StateName(record.Ordinal), owner, state);
        }
        var previous = state.State;
        state.State = record;
        try
        {
            await storage.WriteStateAsync(StateName(record.Ordinal), owner, state);
        }
        catch
        {
            state.State = previous;
            _cache.Remove(record.Ordinal);
            throw;
        }
        Remember(record.Ordinal, state);
    }

    public async Task DeleteAsync(long ordinal)
    {
        var state = _cache.GetValueOrDefault(ordinal) ?? new GrainState<TurnRecord>();
        if (state.ETag is null) await storage.ReadStateAsync(StateName(ordinal), owner, state);
        if (state.RecordExists) await storage.ClearStateAsync(StateName(ordinal), owner, state);
        _cache.Remove(ordinal);
    }

    private void Remember(long ordinal, GrainState<TurnRecord> state)
    {
        if (_cache.TryAdd(ordinal, state)) _lru.AddLast(ordinal);
        else _cache[ordinal] = state;
        while (_cache.Count > cacheSize && _lru.First is { } oldest)
        {
            _lru.RemoveFirst();
            _cache.Remove(oldest.Value);
        }
    }
}
