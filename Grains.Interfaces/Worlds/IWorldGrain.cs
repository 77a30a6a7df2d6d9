using Loom.Security;

namespace Loom.Worlds;

/// <summary>
/// A world (key: worldId) and its immutable canon versions 1, 2, ... Every API-facing method takes the caller:
/// a private world the caller may not see answers exactly like an unknown one (null or 404).
/// </summary>
public interface IWorldGrain : IGrainWithStringKey
{
    /// <summary>Validates and stores a new version; the first publisher becomes the owner, later versions need the
    /// owner or an admin (403 <c>forbidden</c>). Throws a 422 <c>LoomProblemException</c> (nothing stored) when invalid.
    /// Publishing files identical to the latest version returns that version unchanged (an access change still applies).</summary>
    Task<PublishResult> Publish(Caller caller, CanonSubmission submission, WorldAccessChange? access);

    /// <summary>Sets visibility and/or the share list (owner or admin).</summary>
    Task<WorldInfo> SetAccess(Caller caller, WorldAccessChange change);

    /// <summary>Null when the world does not exist or the caller may not see it.</summary>
    [ReadOnly] Task<WorldInfo?> GetInfo(Caller caller);

    /// <summary>Latest when <paramref name="version"/> is null; 404 problem when unknown or not visible to the caller.</summary>
    [ReadOnly] Task<CanonVersion> GetCanon(Caller caller, int? version, bool includeFiles);

    [ReadOnly] Task<CanonDiff> Diff(Caller caller, int from, int to);

    /// <summary>A version a session is pinned to, whoever may see the world now: sessions keep playing their
    /// pinned canon even if the world later turns private. Grain-to-grain only (no HTTP route reaches it).</summary>
    [ReadOnly] Task<CanonVersion> GetPinnedCanon(int version, bool includeFiles);
}

/// <summary>The list of worlds (single activation, key 0). Holds summaries, updated on every publish and access change.</summary>
public interface IWorldCatalogGrain : IGrainWithIntegerKey
{
    Task Upsert(WorldInfo world);

    /// <summary>The worlds the caller may see, by id.</summary>
    [ReadOnly] Task<List<WorldInfo>> List(Caller caller);

    /// <summary>How many worlds <paramref name="ownerId"/> owns (for the Loom:Quotas:MaxWorlds check).</summary>
    [ReadOnly] Task<int> CountOwnedBy(string ownerId);

    /// <summary>
    /// A new world's first publish: counts <paramref name="ownerId"/>'s worlds, listed or reserved, and below
    /// <paramref name="max"/> reserves <paramref name="worldId"/> until it is listed, so two first publishes at once cannot
    /// both take the last slot. Returns the count before the reservation (at or past <paramref name="max"/>: none made).
    /// </summary>
    Task<int> ReserveNew(string ownerId, string worldId, int max);
}

/// <summary>Side-effect-free canon tools (parse, validate) as a stateless worker on the calling silo.</summary>
public interface ICanonToolsGrain : IGrainWithIntegerKey
{
    Task<CanonValidation> Validate(CanonSubmission submission);
}
