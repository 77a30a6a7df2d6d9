namespace Loom.Memory;

public enum EntityType { Character, Location, Item, Fact, Event, Plotline, Relationship, Summary }

/// <summary>A change to world memory, as emitted by the narrator or an edit (API: MemoryOp).</summary>
[GenerateSerializer, Alias("loom.MemoryOp")]
public sealed record MemoryOp
{
    /// <summary>"upsert" or "delete".</summary>
    [Id(0)] public required string Op { get; init; }
    [Id(1)] public string? EntityId { get; init; }
    [Id(2)] public EntityType Type { get; init; }
    [Id(3)] public required string Name { get; init; }
    [Id(4)] public string? Content { get; init; }
    [Id(5)] public Dictionary<string, string>? Attributes { get; init; }
    /// <summary>A player's PUT: <see cref="Content"/> replaces the entity's text as given, even empty (a narrator's op
    /// without content keeps the text it had). Not part of the API's shape.</summary>
    [Id(6), System.Text.Json.Serialization.JsonIgnore] public bool ReplaceContent { get; init; }
}

/// <summary>API: MemoryEntity.</summary>
[GenerateSerializer, Alias("loom.MemoryEntity")]
public sealed record MemoryEntity
{
    [Id(0)] public required string EntityId { get; init; }
    [Id(1)] public EntityType Type { get; init; }
    [Id(2)] public required string Name { get; init; }
    [Id(3)] public string Content { get; init; } = "";
    [Id(4)] public Dictionary<string, string> Attributes { get; init; } = new(StringComparer.Ordinal);
    [Id(5)] public int FirstSeq { get; init; }
    [Id(6)] public int LastSeq { get; init; }
    [Id(7)] public int Version { get; init; }
    [Id(8)] public List<string> Aliases { get; init; } = [];
    [Id(9)] public double Importance { get; init; }
}
