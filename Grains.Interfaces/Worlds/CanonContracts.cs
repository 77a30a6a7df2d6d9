using Loom.Security;

namespace Loom.Worlds;

/// <summary>The canon files an author submits: file name to Markdown text.</summary>
[GenerateSerializer, Alias("loom.CanonSubmission")]
public sealed record CanonSubmission
{
    [Id(0)] public string? Title { get; init; }
    [Id(1)] public Dictionary<string, string> Files { get; init; } = new(StringComparer.Ordinal);
    /// <summary>The version these files were built on (an import merged into the latest): a publish that finds a newer
    /// one is refused (409) rather than dropping what was published in between. Not part of the API's body.</summary>
    [Id(2), System.Text.Json.Serialization.JsonIgnore] public int? BaseVersion { get; init; }
}

/// <summary>A problem found in canon (error or warning) with its place.</summary>
[GenerateSerializer, Alias("loom.CanonIssue")]
public sealed record CanonIssue
{
    [Id(0)] public required string Code { get; init; }
    [Id(1)] public required string Message { get; init; }
    [Id(2)] public string? File { get; init; }
    [Id(3)] public int? Line { get; init; }
}

/// <summary>Section types recognised from H1 headings; anything else is <see cref="Custom"/>.</summary>
public enum SectionType { World, Tone, Conflict, Permissions, Causality, Meta, Custom }

[GenerateSerializer, Alias("loom.CanonSection")]
public sealed record CanonSection
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required SectionType Type { get; init; }
    [Id(2)] public required string File { get; init; }
    /// <summary>The section's Markdown, verbatim (heading included). Not part of the API's Section shape.</summary>
    [Id(3), System.Text.Json.Serialization.JsonIgnore] public string Content { get; init; } = "";
    [Id(4)] public int Line { get; init; }
}

/// <summary>Result of parsing and validating a submission (no side effects).</summary>
[GenerateSerializer, Alias("loom.CanonValidation")]
public sealed record CanonValidation
{
    [Id(0)] public bool Valid { get; init; }
    [Id(1)] public List<CanonIssue> Errors { get; init; } = [];
    [Id(2)] public List<CanonIssue> Warnings { get; init; } = [];
    [Id(3)] public List<CanonSection> Sections { get; init; } = [];
    [Id(4)] public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Title from metadata or the first World heading, when the submission gave none.</summary>
    [Id(5)] public string? Title { get; init; }
}

/// <summary>One immutable published canon version (API: CanonVersion).</summary>
/// <remarks><c>ImmutableObject</c> lets the cache hand every session of a silo the same instance (nothing mutates one).</remarks>
[GenerateSerializer, Alias("loom.CanonVersion"), System.ComponentModel.ImmutableObject(true)]
public sealed record CanonVersion
{
    [Id(0)] public required string WorldId { get; init; }
    [Id(1)] public required int Version { get; init; }
    /// <summary>"sha256:" + hex of the canonical file set.</summary>
    [Id(2)] public required string Hash { get; init; }
    [Id(3)] public required string Title { get; init; }
    [Id(4)] public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);
    [Id(5)] public List<CanonSection> Sections { get; init; } = [];
    [Id(6)] public List<CanonIssue> Warnings { get; init; } = [];
    /// <summary>Present only when asked for (GET canon); null in summaries.</summary>
    [Id(7)] public Dictionary<string, string>? Files { get; init; }
    [Id(8)] public DateTime CreatedAt { get; init; }
}

[GenerateSerializer, Alias("loom.WorldVersionRef")]
public sealed record WorldVersionRef
{
    [Id(0)] public int Version { get; init; }
    [Id(1)] public DateTime CreatedAt { get; init; }
    [Id(2)] public string Hash { get; init; } = "";
}

/// <summary>API: World.</summary>
[GenerateSerializer, Alias("loom.WorldInfo")]
public sealed record WorldInfo
{
    [Id(0)] public required string WorldId { get; init; }
    [Id(1)] public required string Title { get; init; }
    [Id(2)] public int LatestVersion { get; init; }
    [Id(3)] public List<WorldVersionRef> Versions { get; init; } = [];
    [Id(4)] public DateTime UpdatedAt { get; init; }
    /// <summary>The owner id of the world's first publisher; <see cref="Caller.SystemOwner"/> for the examples and legacy worlds.</summary>
    [Id(5)] public string Owner { get; init; } = Caller.SystemOwner;
    [Id(6)] public WorldVisibility Visibility { get; init; }
    /// <summary>Owner ids a private world is shared with; shown only to its owner and admins (null for everyone else).</summary>
    [Id(7)] public List<string>? SharedWith { get; init; }
}

/// <summary>Who may see and play a world: everyone, or its owner, those it is shared with, and admins.</summary>
public enum WorldVisibility { Public, Private }

/// <summary>A change of a world's visibility or share list (null fields stay as they are).</summary>
[GenerateSerializer, Alias("loom.WorldAccessChange")]
public sealed record WorldAccessChange
{
    [Id(0)] public WorldVisibility? Visibility { get; init; }
    /// <summary>Replaces the whole share list (owner ids).</summary>
    [Id(1)] public List<string>? SharedWith { get; init; }

    public bool IsEmpty => Visibility is null && SharedWith is null;
}

/// <summary>Outcome of a publish: the version, and whether the world was new (201) or not (200).</summary>
[GenerateSerializer, Alias("loom.PublishResult")]
public sealed record PublishResult
{
    [Id(0)] public required CanonVersion Canon { get; init; }
    [Id(1)] public bool Created { get; init; }
}

public enum FileDiffStatus { Added, Removed, Modified, Unchanged }

[GenerateSerializer, Alias("loom.CanonFileDiff")]
public sealed record CanonFileDiff
{
    [Id(0)] public required string File { get; init; }
    [Id(1)] public required FileDiffStatus Status { get; init; }
    /// <summary>Unified diff text ("" when unchanged, or when <see cref="TooLarge"/>).</summary>
    [Id(2)] public string Diff { get; init; } = "";
    /// <summary>The file changed but is too long to compare line by line (the diff's time grows with length × changes).</summary>
    [Id(3), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool TooLarge { get; init; }
}

[GenerateSerializer, Alias("loom.CanonDiff")]
public sealed record CanonDiff
{
    [Id(0)] public int From { get; init; }
    [Id(1)] public int To { get; init; }
    [Id(2)] public List<CanonFileDiff> Files { get; init; } = [];
}
