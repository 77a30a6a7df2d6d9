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
    public async Task Upsert(WorldInfo world)
    {
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
