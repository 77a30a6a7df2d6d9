using System.ComponentModel;
using Loom.Caching;
using Loom.Security;

namespace Loom.Worlds;

/// <summary>
/// A caller's list of worlds through the cache tiers, so gateways do not all queue on the one catalog grain for a list
/// that changes only when a world is published or shared. The view depends on who asks (admins see every world, an
/// owner the public, own and shared ones), so admins share one entry and each owner has one. The catalog invalidates
/// them all on every change (<see cref="Tag"/>).
/// </summary>
public sealed class WorldCatalogReader(IGrainFactory grains, LoomCache cache)
{
    public const string Tag = "worlds";

    public async ValueTask<IReadOnlyList<WorldInfo>> ListAsync(Caller caller, CancellationToken cancellationToken = default) =>
        (await cache.GetReadModelAsync(CacheNames.Worlds, caller.IsAdmin ? "admin" : "owner:" + caller.OwnerId, Tag, (grains, caller),
            static async (s, _) => new WorldList { Items = await s.grains.GetGrain<IWorldCatalogGrain>(0).List(s.caller) },
            cancellationToken)).Items;

    /// <summary>
    /// After a request here changed a world: the catalog announces the change to every process, but this one drops its
    /// lists itself too, so the caller's next read through it never races the announcement.
    /// </summary>
    public ValueTask ChangedHereAsync() => cache.DropHereAsync(Tag);
}

/// <summary>A cached world list: immutable, so the first tier hands every request the instance it holds (no copy per read).</summary>
[GenerateSerializer, Alias("loom.WorldList"), ImmutableObject(true)]
public sealed record WorldList
{
    [Id(0)] public required IReadOnlyList<WorldInfo> Items { get; init; }
}
