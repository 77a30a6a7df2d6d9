using Loom.Turns;

namespace Loom.Lore;

/// <summary>
/// Sticky, cooldown and delay at one turn, read from the lore recorded on earlier live turns. Nothing is stored apart
/// from the turns, so the timers are as durable as the timeline and follow rollback, fork and import with it.
/// </summary>
public sealed class LoreTimers
{
    private readonly Dictionary<string, int> _lastFired = new(StringComparer.Ordinal);
    private readonly int _seq;

    /// <param name="seq">The seq of the turn being planned.</param>
    /// <param name="earlier">Earlier live turns, any order (retconned turns must not be among them).</param>
    public LoreTimers(int seq, IEnumerable<TurnView> earlier)
    {
        _seq = seq;
        foreach (var turn in earlier)
        {
            if (turn.Seq >= seq) continue;
            foreach (var fired in turn.Lore)
            {
                // Only a fresh activation starts the clock: a sticky turn is the same activation still running.
                if (fired.Reason == LoreReasons.Sticky) continue;
                if (!_lastFired.TryGetValue(fired.Entry, out var last) || turn.Seq > last) _lastFired[fired.Entry] = turn.Seq;
            }
        }
    }

    /// <summary>Still active from an activation within the last <see cref="LoreEntry.Sticky"/> turns.</summary>
    public bool IsSticky(LoreEntry entry) =>
        entry.Sticky > 0 && _lastFired.TryGetValue(entry.Id, out var last) && _seq - last <= entry.Sticky;

    /// <summary>Blocked for <see cref="LoreEntry.Cooldown"/> turns after its sticky turns end.</summary>
    public bool IsCoolingDown(LoreEntry entry) =>
        entry.Cooldown > 0 && _lastFired.TryGetValue(entry.Id, out var last)
        && _seq - last > entry.Sticky && _seq - last <= entry.Sticky + entry.Cooldown;

    /// <summary>The story has fewer than <see cref="LoreEntry.Delay"/> turns before this one.</summary>
    public bool IsDelayed(LoreEntry entry) => _seq - 1 < entry.Delay;
}

/// <summary>The reasons a lore entry is in a prompt (<see cref="LoreFired.Reason"/>).</summary>
public static class LoreReasons
{
    public const string Key = "key";
    public const string Constant = "constant";
    public const string Sticky = "sticky";
    public const string Recursion = "recursion";
}
