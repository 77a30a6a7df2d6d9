using System.Collections.Concurrent;

namespace Loom.Sessions;

/// <summary>The sessions active on this silo (a silo-wide singleton): what a graceful stop hands to the other silos.</summary>
public sealed class LocalSessions
{
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);

    public void Activated(string sessionId) => _ids[sessionId] = 0;

    public void Deactivated(string sessionId) => _ids.TryRemove(sessionId, out _);

    public IReadOnlyList<string> Snapshot() => [.. _ids.Keys];

    public int Count => _ids.Count;
}
