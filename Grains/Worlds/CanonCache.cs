using Loom.Caching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Loom.Storage;
using Orleans.Storage;

namespace Loom.Worlds;

/// <summary>
/// Published canon versions with their files, in the two cache tiers (<see cref="LoomCache"/>). A version never changes
/// once published, so an entry is valid for ever. In-process, sessions of one world share one instance instead of a
/// copy each, and what is derived from it per instance (the prompt's system message and its token count) is built once
/// per version rather than once per session; across silos, Redis holds it, so a silo meeting a world for the first
/// time (after a scale-out or a restart) reads one entry instead of the world's whole stored state.
/// A miss reads the world's stored state directly rather than calling its grain: a published version is durable and
/// immutable, and a session starting on one silo then does not wait for a world grain that another silo is moving
/// (a rolling restart measured turns held for seconds there). The grain answers when the row does not have it.
/// </summary>
public sealed partial class CanonCache(IGrainFactory grains, [FromKeyedServices(StorageNames.Provider)] IGrainStorage storage,
    LoomCache cache, ILogger<CanonCache> logger)
{
    public ValueTask<CanonVersion> GetAsync(string worldId, int version) =>
        cache.GetImmutableAsync(CacheNames.Canon, $"{worldId}:{version}", (self: this, worldId, version),
            static (s, _) => s.self.LoadAsync(s.worldId, s.version));

    private async ValueTask<CanonVersion> LoadAsync(string worldId, int version) =>
        await FromStorageAsync(worldId, version) ?? await grains.GetGrain<IWorldGrain>(worldId).GetPinnedCanon(version, includeFiles: true);

    private async Task<CanonVersion?> FromStorageAsync(string worldId, int version)
    {
        try
        {
            var world = new GrainState<WorldState>();
            await storage.ReadStateAsync(WorldState.StateName, grains.GetGrain<IWorldGrain>(worldId).GetGrainId(), world);
            return world is { RecordExists: true, State: { } stored } ? CanonVersions.WithFiles(worldId, stored, version) : null;
        }
        catch (Exception ex)
        {
            LogStorageReadFailed(logger, ex, worldId, version);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Canon {WorldId} v{Version}: reading it from storage failed; asking the world grain")]
    private static partial void LogStorageReadFailed(ILogger logger, Exception ex, string worldId, int version);
}
