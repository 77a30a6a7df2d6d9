namespace Loom.Memory;

/// <summary>A world edit of one entity (API: PUT .../memory/{entityId}).</summary>
[GenerateSerializer, Alias("loom.MemoryEdit")]
public sealed record MemoryEdit
{
    [Id(0)] public EntityType Type { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public string Content { get; init; } = "";
    /// <summary>Null keeps the entity's attributes; a map replaces them.</summary>
    [Id(3)] public Dictionary<string, string>? Attributes { get; init; }
    /// <summary>Why (kept in the audit log).</summary>
    [Id(4)] public string? Reason { get; init; }
}

/// <summary>Filters of GET .../memory.</summary>
[GenerateSerializer, Alias("loom.MemoryListQuery")]
public sealed record MemoryListQuery
{
    [Id(0)] public EntityType? Type { get; init; }
    [Id(1)] public string? Query { get; init; }
    [Id(2)] public int Limit { get; init; } = 50;
    /// <summary>Cursor: the last entity id of the previous page.</summary>
    [Id(3)] public string? After { get; init; }
}

/// <summary>A page of entities in id order; <see cref="Next"/> is null on the last page.</summary>
[GenerateSerializer, Alias("loom.MemoryPage")]
public sealed record MemoryPage
{
    [Id(0)] public List<MemoryEntity> Items { get; init; } = [];
    [Id(1)] public string? Next { get; init; }
}
