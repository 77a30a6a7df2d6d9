using System.Collections.Concurrent;

namespace Loom.Sessions;

/// <summary>The sessions active on this silo (a silo-wide singleton): what a graceful stop hands to the other silos.</summary>
public sealed class LocalSessions
{
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);
    private long _deactivations;

    public void Activated(string sessionId) => _ids[sessionId] = 0;

    public void Deactivated(string sessionId)
    {
        _ids.TryRemove(sessionId, out _);
        Interlocked.Increment(ref _deactivations);
    }

    /// <summary>Sessions deactivated on this silo since it started (what <c>IdleMemoryTrim</c> watches).</summary>
    public long Deactivations => Interlocked.Read(ref _deactivations);

    public IReadOnlyList<string> Snapshot() => [.. _ids.Keys];

    public int Count => _ids.Count;
}
