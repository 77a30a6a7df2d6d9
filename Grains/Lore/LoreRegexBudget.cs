namespace Loom.Lore;

/// <summary>
/// The time one turn's lore plan may spend in regex keys, all keys together. Each match is bounded (50 ms), but a world
/// may hold thousands of keys, and every turn of every session in it would pay for them: past the budget regex keys
/// count as not matching (plain keys still do), so a hostile or careless lorebook costs a turn at most this much.
/// </summary>
public sealed class LoreRegexBudget(TimeSpan limit)
{
    public static readonly TimeSpan PerTurn = TimeSpan.FromMilliseconds(250);

    private long _spent;

    public bool Spent => System.Diagnostics.Stopwatch.GetElapsedTime(0, _spent) >= limit;

    public void Charge(long startedTimestamp) => _spent += System.Diagnostics.Stopwatch.GetTimestamp() - startedTimestamp;
}
