using Loom.Memory;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>
/// A turn's alternatives as stored in its journal record. The chosen one lives in the record itself (its turn and
/// context) and in memory (its changes at the turn's seq), so its slot here is empty; every other slot holds its
/// turn, context and the memory revisions it made, ready to be swapped back in.
/// </summary>
[GenerateSerializer, Alias("loom.AlternativeSet"), OmitDefaultMemberValues]
public sealed record AlternativeSet
{
    /// <summary>0-based index of the chosen alternative.</summary>
    [Id(0)] public int Chosen { get; init; }
    [Id(1)] public List<StoredAlternative> Items { get; init; } = [];
    /// <summary>Idempotency keys of the reworks already applied to this turn (newest last, bounded).</summary>
    [Id(2)] public List<string> Keys { get; init; } = [];
}

[GenerateSerializer, Alias("loom.StoredAlternative"), OmitDefaultMemberValues]
public sealed record StoredAlternative
{
    /// <summary>Null for the chosen slot (the record's own turn is that one).</summary>
    [Id(0)] public TurnView? Turn { get; init; }
    [Id(1)] public TurnPromptContext? Context { get; init; }
    /// <summary>The entities as this alternative left them at the turn's seq (null value: it deleted them).</summary>
    [Id(2)] public List<AlternativeRevision>? Memory { get; init; }
}

/// <summary>One entity as an alternative left it after the turn (null <see cref="Value"/>: deleted by it).</summary>
[GenerateSerializer, Alias("loom.AlternativeRevision")]
public sealed record AlternativeRevision
{
    [Id(0)] public required string EntityId { get; init; }
    [Id(1)] public MemoryEntity? Value { get; init; }
}

/// <summary>What a pending record reworks. The pre-rework alternatives travel in the record's <see cref="AlternativeSet"/>,
/// the chosen one's memory included, so a crash before the commit loses nothing.</summary>
[GenerateSerializer, Alias("loom.PendingRework")]
public sealed record PendingRework
{
    [Id(0)] public ReworkKind Kind { get; init; }
    [Id(1)] public string? IdempotencyKey { get; init; }
    /// <summary>Continue: the narrative being extended.</summary>
    [Id(2)] public string? BaseNarrative { get; init; }
}
