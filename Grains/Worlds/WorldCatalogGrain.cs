namespace Loom.Worlds;

/// <summary>The list of worlds (key 0). World grains push their summary here after every publish.</summary>
public sealed class WorldCatalogGrain(
    [PersistentState("worldcatalog", "loom")] IPersistentState<WorldCatalogState> state) : Grain, IWorldCatalogGrain
{
    public async Task Upsert(WorldInfo world)
    {
        var worlds = state.State.Worlds;
        // Calls can arrive out of order (retries); never let an older summary replace a newer one.
        if (worlds.TryGetValue(world.WorldId, out var known) && known.LatestVersion > world.LatestVersion)
        {
            return;
        }

        if (known is not null && known.LatestVersion == world.LatestVersion && known.Title == world.Title
            && known.Versions.Count == world.Versions.Count)
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
    }

    public Task<List<WorldInfo>> List() =>
        Task.FromResult(state.State.Worlds.Values.OrderBy(w => w.WorldId, StringComparer.Ordinal).ToList());
}
