using Loom.Worlds;

namespace Loom.Worlds;

/// <summary>
/// Persisted state of one world ("world"). Versions are immutable. File texts live once in <see cref="Blobs"/>,
/// keyed by content hash, so a file unchanged across versions is stored once; sections are kept as spans into
/// those texts rather than as copies.
/// </summary>
[GenerateSerializer, Alias("loom.WorldState")]
public sealed class WorldState
{
    /// <summary>The world grain's state name (read directly by <see cref="CanonCache"/> too).</summary>
    public const string StateName = "world";

    [Id(0)] public List<StoredCanonVersion> Versions { get; set; } = [];
    /// <summary>Content hash → LF-normalised file text.</summary>
    [Id(1)] public Dictionary<string, string> Blobs { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The first publisher's owner id. Null in worlds stored before owners existed: they read as the system's.</summary>
    [Id(2)] public string? Owner { get; set; }
    [Id(3)] public WorldVisibility Visibility { get; set; }
    [Id(4)] public List<string> SharedWith { get; set; } = [];
    /// <summary>When visibility or sharing last changed (orders catalog updates that add no version).</summary>
    [Id(5)] public DateTime? AccessChangedAt { get; set; }
}

[GenerateSerializer, Alias("loom.StoredCanonVersion")]
public sealed class StoredCanonVersion
{
    [Id(0)] public int Version { get; set; }
    [Id(1)] public string Hash { get; set; } = "";
    [Id(2)] public string Title { get; set; } = "";
    [Id(3)] public Dictionary<string, string> Metadata { get; set; } = new(StringComparer.Ordinal);
    [Id(4)] public List<StoredSection> Sections { get; set; } = [];
    [Id(5)] public List<CanonIssue> Warnings { get; set; } = [];
    /// <summary>File name → key in <see cref="WorldState.Blobs"/>.</summary>
    [Id(6)] public Dictionary<string, string> Files { get; set; } = new(StringComparer.Ordinal);
    [Id(7)] public DateTime CreatedAt { get; set; }
}

/// <summary>A section without its text: <see cref="Start"/>/<see cref="Length"/> index its file's stored text.</summary>
[GenerateSerializer, Alias("loom.StoredSection")]
public sealed class StoredSection
{
    [Id(0)] public string Name { get; set; } = "";
    [Id(1)] public SectionType Type { get; set; }
    [Id(2)] public string File { get; set; } = "";
    [Id(3)] public int Line { get; set; }
    [Id(4)] public int Start { get; set; }
    [Id(5)] public int Length { get; set; }
}

[GenerateSerializer, Alias("loom.WorldCatalogState")]
public sealed class WorldCatalogState
{
    [Id(0)] public Dictionary<string, WorldInfo> Worlds { get; set; } = new(StringComparer.Ordinal);
}
