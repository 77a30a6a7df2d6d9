using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Loom.Storage;
using Orleans.Storage;

namespace Loom.Worlds;

/// <summary>Section <c>Loom:Canon</c>.</summary>
public sealed class CanonCacheOptions
{
    public const string Section = "Loom:Canon";

    /// <summary>Canon text a silo keeps for its sessions, in MiB (counted as UTF-16 text).</summary>
    [Range(1, 4096)]
    public int CacheMegabytes { get; set; } = 64;
}

/// <summary>
/// Published canon versions with their files, shared by every session on this silo. A version never changes once
/// published, so an entry is valid for ever; the cache is bounded by text size and evicts what is least used. Sessions
/// of one world hold one instance instead of a copy each, and what is derived from it per instance (the prompt's
/// system message and its token count) is built once per version rather than once per session.
/// A miss reads the world's stored state directly rather than calling its grain: a published version is durable and
/// immutable, and a session starting on one silo then does not wait for a world grain that another silo is moving
/// (a rolling restart measured turns held for seconds there). The grain answers when the row does not have it.
/// </summary>
public sealed partial class CanonCache(IGrainFactory grains, [FromKeyedServices(StorageNames.Provider)] IGrainStorage storage,
    IOptions<CanonCacheOptions> options, ILogger<CanonCache> logger) : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CacheMegabytes * 1024L * 1024L });

    public async ValueTask<CanonVersion> GetAsync(string worldId, int version)
    {
        var key = (worldId, version);
        if (_cache.TryGetValue(key, out CanonVersion? cached) && cached is not null) return cached;
        var canon = await FromStorageAsync(worldId, version) ?? await grains.GetGrain<IWorldGrain>(worldId).GetPinnedCanon(version, includeFiles: true);
        var size = 2L * (canon.Files?.Sum(f => (long)f.Key.Length + f.Value.Length) ?? 0) + 1024;
        // Two sessions may load one version at once; either copy is correct and the later one simply replaces the first.
        _cache.Set(key, canon, new MemoryCacheEntryOptions { Size = size, SlidingExpiration = TimeSpan.FromMinutes(30) });
        return canon;
    }

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

    public void Dispose() => _cache.Dispose();
}
