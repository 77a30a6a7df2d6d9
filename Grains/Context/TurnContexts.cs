using Loom.Lore;
using Loom.Prompt;
using Loom.Turns;
using Loom.Worlds;

namespace Loom.Sessions;

/// <summary>Builds the record of what went into a turn's prompt (the context viewer) from what the turn assembled.</summary>
public static class TurnContexts
{
    private const string SummaryPrefix = "summary:";

    public static TurnPromptContext Of(CanonVersion canon, AssembledPrompt prompt, PromptOptions budgets, LorePlacement lore,
        IReadOnlyList<string> memoryUsed, IReadOnlyList<TurnView> history, string input,
        IReadOnlyList<MemoryScore>? memoryScores = null)
    {
        // The assembler keeps the newest usable turns that fit; those are the last ones with a narrative.
        var memory = memoryUsed.Where(id => !id.StartsWith(SummaryPrefix, StringComparison.Ordinal)).ToList();
        var placed = history.Where(t => !string.IsNullOrWhiteSpace(t.Narrative)).TakeLast(prompt.HistoryTurnsIncluded).Select(t => t.Seq).ToList();
        return new TurnPromptContext
        {
            WorldId = canon.WorldId,
            CanonVersion = canon.Version,
            CanonHash = canon.Hash,
            Lore = lore.Fired,
            LoreOverBudget = lore.OverBudget,
            Memory = memory,
            Summaries = memoryUsed.Where(id => id.StartsWith(SummaryPrefix, StringComparison.Ordinal)).ToList(),
            RecentTurns = placed,
            RecentTurnsOmitted = prompt.HistoryTurnsOmitted,
            Opening = prompt.OpeningTokens > 0,
            Input = input,
            ContextTruncated = prompt.ContextTruncated,
            // Why each entity in the prompt was chosen. Candidates that did not make it are left out: the record is stored
            // with every turn, and their scores would cost more bytes per turn than the entities that were used.
            MemoryScores = memoryScores is null ? [] : memoryScores.Where(s => memory.Contains(s.EntityId)).ToList(),
            Tokens = new ContextTokenCounts
            {
                Canon = prompt.SystemTokens,
                Lore = prompt.LoreTokens,
                LoreBudget = budgets.LoreTokens,
                Context = prompt.ContextTokens,
                ContextBudget = budgets.MemoryTokens,
                RecentTurns = prompt.HistoryTokens,
                RecentTurnsBudget = budgets.HistoryTokens,
                Opening = prompt.OpeningTokens,
                Input = prompt.InputTokens,
                Total = prompt.PromptTokens,
                TotalBudget = budgets.MaxPromptTokens,
            },
        };
    }
}
