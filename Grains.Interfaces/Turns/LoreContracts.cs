namespace Loom.Turns;

/// <summary>
/// A lore entry that went into a turn's prompt and why. Kept on the turn record, so the timed effects
/// (sticky, cooldown) of later turns are a function of the live timeline: they survive restarts and follow
/// rollback, fork and import exactly as the turns do.
/// </summary>
[GenerateSerializer, Alias("loom.LoreFired")]
public sealed record LoreFired
{
    /// <summary>The entry's file, e.g. <c>lore/harbour.md</c>.</summary>
    [Id(0)] public required string Entry { get; init; }

    /// <summary>What activated it: <c>key</c>, <c>constant</c>, <c>sticky</c> or <c>recursion</c>.</summary>
    [Id(1)] public required string Reason { get; init; }

    /// <summary>The key that matched (for <c>key</c> and <c>recursion</c>).</summary>
    [Id(2)] public string? Key { get; init; }

    /// <summary>Tokens the entry cost in the prompt.</summary>
    [Id(3)] public int Tokens { get; init; }
}
