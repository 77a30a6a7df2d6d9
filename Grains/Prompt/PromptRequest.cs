using Loom.Llm;

namespace Loom.Prompt;

/// <summary>One earlier turn as the model should see it: what the player wrote (in-fiction) and the narrative.</summary>
public sealed record PromptTurn(string Input, string Narrative);

/// <summary>Everything a narration prompt is built from. All strings are used as given; nothing is interpreted.</summary>
public sealed record PromptRequest
{
    /// <summary>The pinned canon version's files (name to Markdown); placed verbatim in file-name order.</summary>
    public required IReadOnlyDictionary<string, string> CanonFiles { get; init; }

    /// <summary>The player's in-fiction input for this turn (interventions already removed).</summary>
    public required string Input { get; init; }

    /// <summary>Earlier turns in chronological order (oldest first).</summary>
    public IReadOnlyList<PromptTurn> History { get; init; } = [];

    /// <summary>Relevant world memory, most relevant first (lines are dropped from the end to fit).</summary>
    public string Memory { get; init; } = "";

    /// <summary>Summaries of older story, oldest first (lines are dropped from the start to fit).</summary>
    public string Summaries { get; init; } = "";

    /// <summary>Tone instructions in force (e.g. from [TONE: ...]).</summary>
    public string Tone { get; init; } = "";

    /// <summary>The player's stated intent (e.g. from [INTENT: ...]).</summary>
    public string Intent { get; init; } = "";

    /// <summary>Changes the player made to established facts this turn (from [RETCON: ...]).</summary>
    public string Retcons { get; init; } = "";

    /// <summary>Out-of-character notes from the player (from (OOC: ...)); never story text.</summary>
    public string OutOfCharacter { get; init; } = "";

    /// <summary>Shared sessions: who plays (names and personas); empty in solo play.</summary>
    public string Players { get; init; } = "";

    /// <summary>A greeting that opened the story, placed as the first narration before the recent turns ("" when none).</summary>
    public string? Opening { get; init; }

    /// <summary>Lore chosen for this turn (docs/lore.md), placed verbatim; its tokens are already within its own budget.</summary>
    public Lore.LorePlacement Lore { get; init; } = Loom.Lore.LorePlacement.None;
}

/// <summary>The messages to send and what went into them.</summary>
public sealed record AssembledPrompt
{
    public required List<LlmMessage> Messages { get; init; }

    /// <summary>Prompt size counted with the configured <see cref="Loom.Text.ITokenCounter"/>, per-message overhead included.</summary>
    public int PromptTokens { get; init; }

    public int HistoryTurnsIncluded { get; init; }

    /// <summary>Older turns left out to fit the budget.</summary>
    public int HistoryTurnsOmitted { get; init; }

    /// <summary>Tokens of the stable system message (role, protocol, canon).</summary>
    public int SystemTokens { get; init; }

    /// <summary>Tokens of the context message (0 when there is none).</summary>
    public int ContextTokens { get; init; }

    /// <summary>Tokens of the recent turns placed, of the player's input and of the opening greeting.</summary>
    public int HistoryTokens { get; init; }
    public int InputTokens { get; init; }
    public int OpeningTokens { get; init; }

    /// <summary>Tokens of the lore messages (0 when none).</summary>
    public int LoreTokens { get; init; }

    /// <summary>True when memory or summaries were cut to fit.</summary>
    public bool ContextTruncated { get; init; }
}
