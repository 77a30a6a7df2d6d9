namespace Loom.Worlds;

/// <summary>A world (key: worldId) and its immutable canon versions 1, 2, ...</summary>
public interface IWorldGrain : IGrainWithStringKey
{
    /// <summary>Validates and stores a new version. Throws a 422 <c>LoomProblemException</c> (nothing stored) when invalid.
    /// Publishing files identical to the latest version returns that version unchanged.</summary>
    Task<PublishResult> Publish(CanonSubmission submission);

    /// <summary>Null when the world does not exist.</summary>
    [ReadOnly] Task<WorldInfo?> GetInfo();

    /// <summary>Latest when <paramref name="version"/> is null; 404 problem when unknown.</summary>
    [ReadOnly] Task<CanonVersion> GetCanon(int? version, bool includeFiles);

    [ReadOnly] Task<CanonDiff> Diff(int from, int to);
}

/// <summary>The list of worlds (single activation, key 0). Holds summaries, updated on every publish.</summary>
public interface IWorldCatalogGrain : IGrainWithIntegerKey
{
    Task Upsert(WorldInfo world);
    [ReadOnly] Task<List<WorldInfo>> List();
}

/// <summary>Side-effect-free canon tools (parse, validate) as a stateless worker on the calling silo.</summary>
public interface ICanonToolsGrain : IGrainWithIntegerKey
{
    Task<CanonValidation> Validate(CanonSubmission submission);
}
