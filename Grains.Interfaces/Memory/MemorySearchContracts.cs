namespace Loom.Memory;

/// <summary>How memory search ranks entities (API: POST .../memory/search mode).</summary>
public enum SearchMode { Keyword, Vector, Hybrid }

/// <summary>A search hit (API: { entity, score }). Scores are comparable only within one answer.</summary>
[GenerateSerializer, Alias("loom.ScoredEntity")]
public sealed record ScoredEntity
{
    [Id(0)] public required MemoryEntity Entity { get; init; }
    [Id(1)] public double Score { get; init; }
}
