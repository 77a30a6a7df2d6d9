using Loom.Security;

namespace Loom.Worlds;

/// <summary>An exported world: the bytes and how to serve them.</summary>
[GenerateSerializer, Alias("loom.ExportedFile")]
public sealed record ExportedFile
{
    [Id(0)] public required byte[] Content { get; init; }
    [Id(1)] public required string ContentType { get; init; }
    [Id(2)] public required string FileName { get; init; }
}

/// <summary>API: the answer to <c>POST /api/worlds/import</c>.</summary>
[GenerateSerializer, Alias("loom.WorldImportResult")]
public sealed record WorldImportResult
{
    [Id(0)] public required string WorldId { get; init; }
    [Id(1)] public int Version { get; init; }
    /// <summary><c>card</c> or <c>lorebook</c>.</summary>
    [Id(2)] public required string Kind { get; init; }
    [Id(3)] public string Title { get; init; } = "";
    [Id(4)] public int LoreEntries { get; init; }
    [Id(5)] public int Greetings { get; init; }
    /// <summary>True when the import made a new world (201), false when it added a version (200 is not used: still 201, a version is new).</summary>
    [Id(6)] public bool CreatedWorld { get; init; }
}

/// <summary>
/// Character cards and lorebooks in and out of worlds (stateless worker on the calling silo): parsing and mapping
/// run here, storing goes through <see cref="IWorldGrain.Publish"/> so the canon rules and ownership apply unchanged.
/// </summary>
public interface IWorldPortGrain : IGrainWithIntegerKey
{
    /// <summary>A new world, or with <paramref name="worldId"/> a new version of it (the caller must own it).</summary>
    Task<WorldImportResult> Import(Caller caller, byte[] data, string? worldId);

    /// <summary><paramref name="format"/>: card-v3, card-v2, png or lorebook.</summary>
    [ReadOnly] Task<ExportedFile> Export(Caller caller, string worldId, int? version, string format);
}
