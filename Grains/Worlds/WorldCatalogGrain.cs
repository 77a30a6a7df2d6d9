using Loom.Caching;
using Loom.Security;
using Loom.Storage;

namespace Loom.Worlds;

/// <summary>
/// The list of worlds (key 0). World grains push their summary here after every publish and access change; each
/// change drops the cached lists (<see cref="WorldCatalogReader"/>) in every process.
/// </summary>
public sealed class WorldCatalogGrain(
    [PersistentState("worldcatalog", StorageNames.Provider)] IPersistentState<WorldCatalogState> state, LoomCache cache)
    : Grain, IWorldCatalogGrain
{
    /// <summary>A reservation whose world never got listed (its write failed) stops counting after this.</summary>
    private static readonly TimeSpan ReservationLife = TimeSpan.FromMinutes(1);

    /// <summary>New worlds past the quota check and not yet listed, with their owner (in memory: a restart forgets them,
    /// which only lets a quota be passed by publishes racing that restart).</summary>
    private readonly Dictionary<string, (string Owner, DateTime Until)> _reserved = new(StringComparer.Ordinal);

    public Task<int> ReserveNew(string ownerId, string worldId, int max)
    {
        var now = DateTime.UtcNow;
        foreach (var (id, _) in _reserved.Where(r => r.Value.Until <= now || state.State.Worlds.ContainsKey(r.Key)).ToList()) _reserved.Remove(id);
        var owned = state.State.Worlds.Values.Count(w => string.Equals(w.Owner, ownerId, StringComparison.Ordinal))
            + _reserved.Count(r => r.Key != worldId && string.Equals(r.Value.Owner, ownerId, StringComparison.Ordinal));
        if (owned < max) _reserved[worldId] = (ownerId, now + ReservationLife);
        return Task.FromResult(owned);
    }

    public async Task Upsert(WorldInfo world)
    {
        _reserved.Remove(world.WorldId);
        var worlds = state.State.Worlds;
        // Calls can arrive out of order (retries); never let an older summary replace a newer one.
        if (worlds.TryGetValue(world.WorldId, out var known)
            && (known.LatestVersion > world.LatestVersion || (known.LatestVersion == world.LatestVersion && known.UpdatedAt > world.UpdatedAt)))
        {
            return;
        }

        if (known is not null && Same(known, world))
        {
            // An identical republish: nothing to write.
            return;
        }

        worlds[world.WorldId] = world;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            if (known is null)
            {
                worlds.Remove(world.WorldId);
            }
            else
            {
                worlds[world.WorldId] = known;
            }

            throw;
        }

        await cache.InvalidateAsync(WorldCatalogReader.Tag);
    }

    public Task<List<WorldInfo>> List(Caller caller) =>
        Task.FromResult(state.State.Worlds.Values
            .Where(w => WorldAccess.CanSee(w, caller))
            .OrderBy(w => w.WorldId, StringComparer.Ordinal)
            .Select(w => WorldAccess.ForCaller(w, caller))
            .ToList());

    public Task<int> CountOwnedBy(string ownerId) =>
        Task.FromResult(state.State.Worlds.Values.Count(w => string.Equals(w.Owner, ownerId, StringComparison.Ordinal)));

    private static bool Same(WorldInfo a, WorldInfo b) =>
        a.LatestVersion == b.LatestVersion && a.Title == b.Title && a.Versions.Count == b.Versions.Count
        && a.UpdatedAt == b.UpdatedAt && a.Owner == b.Owner && a.Visibility == b.Visibility
        && (a.SharedWith ?? []).SequenceEqual(b.SharedWith ?? [], StringComparer.Ordinal);
}
