using Loom.Errors;

namespace Loom.Worlds;

/// <summary>A stored canon version as callers see it: sections (and files) cut from the world's stored texts.</summary>
public static class CanonVersions
{
    public static CanonVersion Summary(string worldId, WorldState world, StoredCanonVersion stored) => new()
    {
        WorldId = worldId,
        Version = stored.Version,
        Hash = stored.Hash,
        Title = stored.Title,
        Metadata = stored.Metadata,
        Sections = stored.Sections.Select(s => new CanonSection
        {
            Name = s.Name, Type = s.Type, File = s.File, Line = s.Line,
            Content = world.Blobs[stored.Files[s.File]].Substring(s.Start, s.Length),
        }).ToList(),
        Warnings = stored.Warnings,
        CreatedAt = stored.CreatedAt,
    };

    public static Dictionary<string, string> FileTexts(WorldState world, StoredCanonVersion stored) =>
        stored.Files.ToDictionary(f => f.Key, f => world.Blobs[f.Value], StringComparer.Ordinal);

    /// <summary>
    /// A version number a caller sent is 1 or more: versions count from 1, so 0 or -3 is a malformed request (400 naming
    /// <paramref name="field"/>), while a version past the last one is an unknown version (404).
    /// </summary>
    public static void RequireWellFormed(int? version, string field)
    {
        if (version < 1) throw Problems.Invalid(field, $"{field} must be 1 or more.");
    }

    /// <summary>Version <paramref name="version"/> with its files, or null when the world has no such version.</summary>
    public static CanonVersion? WithFiles(string worldId, WorldState world, int version) =>
        version >= 1 && version <= world.Versions.Count && world.Versions[version - 1] is { } stored && stored.Version == version
            ? Summary(worldId, world, stored) with { Files = FileTexts(world, stored) }
            : null;
}
