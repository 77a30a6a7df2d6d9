using Loom.Turns;

namespace Loom.Lore;

/// <summary>One message of lore at a depth in the chat (0 = after the player's input).</summary>
public sealed record LoreDepthMessage(int Depth, LoreRole Role, string Text);

/// <summary>What the planner chose for one turn: the texts per position and why each entry is there.</summary>
public sealed record LorePlacement
{
    public static readonly LorePlacement None = new();

    /// <summary>System message before the canon ("" when none).</summary>
    public string BeforeCanon { get; init; } = "";
    /// <summary>System message after the canon ("" when none).</summary>
    public string AfterCanon { get; init; } = "";
    public IReadOnlyList<LoreDepthMessage> AtDepth { get; init; } = [];
    /// <summary>Entries placed, in placement order, with the reason each fired.</summary>
    public List<LoreFired> Fired { get; init; } = [];
    /// <summary>Tokens of all lore messages, per-message overhead included.</summary>
    public int Tokens { get; init; }
    /// <summary>Entries that fired but did not fit the lore budget.</summary>
    public List<string> OverBudget { get; init; } = [];

    public bool IsEmpty => Fired.Count == 0;
}
