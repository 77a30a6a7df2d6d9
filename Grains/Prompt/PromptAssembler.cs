using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Loom.Errors;
using Loom.Llm;
using Loom.Lore;
using Loom.Text;
using Microsoft.Extensions.Options;

namespace Loom.Prompt;

/// <summary>
/// Builds the narration prompt: [system: role + memory protocol + canon verbatim] [system: context]
/// [recent turns] [player input]. The first message depends only on the canon version, so providers can
/// cache it across turns and sessions. Narrative-blind: canon and context are placed, never interpreted.
/// </summary>
public sealed class PromptAssembler(IOptions<PromptOptions> options, ITokenCounter tokenCounter)
{
    /// <summary>Approximate chat-format overhead per message (role markers and separators), as OpenAI documents it.</summary>
    internal const int MessageOverheadTokens = 4;

    private const int MaxCachedSystemPrompts = 256;

    private readonly PromptOptions _options = options.Value;

    /// <summary>The budgets prompts are built to (reported by the context viewer).</summary>
    public PromptOptions Options => _options;

    // Token counts are cached four ways, by what repeats: the system prompt by its text (per canon version), each
    // canon dictionary's system message by instance, earlier turns' texts by instance, and context lines by hash.
    // Counting a large canon on every turn is the assembler's main cost; the text repeats per canon version.
    private readonly ConcurrentDictionary<string, int> _systemTokenCache = new(StringComparer.Ordinal);

    // A session passes the same canon dictionary and the same history strings turn after turn: the system message is
    // built and counted once per canon instance, and each earlier turn's text is counted once, not on every later turn.
    // Weak keys: entries live exactly as long as the activation holds the canon or the turn.
    private readonly ConditionalWeakTable<IReadOnlyDictionary<string, string>, SystemMessage> _systemByCanon = new();
    private readonly ConditionalWeakTable<string, StrongBox<int>> _textCosts = new();

    // Memory and summary lines repeat turn after turn but arrive as new strings each time: the context is counted from
    // their cached counts (bounded), not by tokenizing it whole.
    private readonly ContextSections _context = new(tokenCounter);

    private sealed record SystemMessage(string Text, int Tokens);

    public AssembledPrompt Assemble(PromptRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);

        var (system, systemTokens) = _systemByCanon.GetValue(request.CanonFiles, files =>
        {
            var text = BuildSystemMessage(files);
            return new SystemMessage(text, CountSystem(text));
        });
        var inputTokens = Cost(request.Input);
        var openingTokens = string.IsNullOrEmpty(request.Opening) ? 0 : Cost(request.Opening); // greetings (issue 13)
        var fixedTokens = systemTokens + inputTokens + request.Lore.Tokens + openingTokens; // lore: within the prompt budget (issue 13)
        if (fixedTokens > _options.MaxPromptTokens)
        {
            throw Problems.Unprocessable("prompt_too_large",
                $"The canon and the input need {fixedTokens} tokens, more than Loom:Prompt:MaxPromptTokens ({_options.MaxPromptTokens}).");
        }

        var (context, contextTokens, truncated) = BuildContext(request, fixedTokens);

        var historyBudget = Math.Min(_options.HistoryTokens, _options.MaxPromptTokens - fixedTokens - contextTokens);
        var history = SelectHistory(request.History, historyBudget, out var historyTokens);

        var messages = new List<LlmMessage>(3 + history.Count * 2)
        {
            new() { Role = LlmRole.System, Content = system },
        };
        if (context.Length > 0)
        {
            messages.Add(new LlmMessage { Role = LlmRole.System, Content = context });
        }

        if (openingTokens > 0) messages.Add(new LlmMessage { Role = LlmRole.Assistant, Content = request.Opening! }); // greetings (issue 13)
        foreach (var turn in history)
        {
            messages.Add(new LlmMessage { Role = LlmRole.User, Content = turn.Input });
            messages.Add(new LlmMessage { Role = LlmRole.Assistant, Content = turn.Narrative });
        }

        messages.Add(new LlmMessage { Role = LlmRole.User, Content = request.Input });
        LorePrompt.Place(messages, request.Lore, contextMessages: context.Length > 0 ? 1 : 0); // lore: positions (issue 13)

        var usableTurns = request.History.Count(IsUsable);
        return new AssembledPrompt
        {
            Messages = messages,
            PromptTokens = fixedTokens + contextTokens + historyTokens,
            HistoryTurnsIncluded = history.Count,
            HistoryTurnsOmitted = usableTurns - history.Count,
            SystemTokens = systemTokens,
            ContextTokens = contextTokens,
            LoreTokens = request.Lore.Tokens,
            HistoryTokens = historyTokens,
            InputTokens = inputTokens,
            OpeningTokens = openingTokens,
            ContextTruncated = truncated,
        };
    }

    /// <summary>Role, protocol and the canon files verbatim in ordinal file-name order: nothing per turn.</summary>
    public static string BuildSystemMessage(IReadOnlyDictionary<string, string> canonFiles)
    {
        var builder = new StringBuilder();
        builder.Append(NarratorInstructions.Role.Trim()).Append("\n\n");
        builder.Append(NarratorInstructions.MemoryProtocol.Trim()).Append("\n\n");
        builder.Append(NarratorFormat.CanonHeader).Append('\n');
        foreach (var (name, content) in canonFiles.Where(f => Canon.CanonParser.IsCanonText(f.Key)).OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            builder.Append(NarratorFormat.CanonFileHeader(name)).Append('\n');
            builder.Append(content);
            if (!content.EndsWith('\n'))
            {
                builder.Append('\n');
            }
        }

        builder.Append(NarratorFormat.CanonFooter);
        return builder.ToString();
    }

    private int CountSystem(string system)
    {
        if (_systemTokenCache.TryGetValue(system, out var cached))
        {
            return cached;
        }

        var tokens = Cost(system);
        if (_systemTokenCache.Count >= MaxCachedSystemPrompts)
        {
            _systemTokenCache.Clear(); // crude bound; canon versions in use at once are few
        }

        _systemTokenCache[system] = tokens;
        return tokens;
    }

    private int Cost(string text) => tokenCounter.Count(text) + MessageOverheadTokens;

    private int CachedCost(string text) => _textCosts.GetValue(text, t => new StrongBox<int>(Cost(t))).Value;

    /// <summary>
    /// What the turn's markers say (tone, players, intent, retcons, out-of-character notes) is always kept: the player
    /// is told it reached the narrator. Then summaries keep their newest lines and memory its first (most relevant)
    /// lines, while the budget lasts (<see cref="PromptOptions.MemoryTokens"/>, or what the markers need if more).
    /// Lines are counted one by one (cached: they repeat turn after turn); the whole text, which changes every turn,
    /// is tokenized once, and that count is the one reported.
    /// </summary>
    private (string Text, int Tokens, bool Truncated) BuildContext(PromptRequest request, int fixedTokens)
    {
        var sections = new List<ContextSection>();
        if (!string.IsNullOrWhiteSpace(request.Tone))
        {
            sections.Add(new("Tone for this part of the story", request.Tone.Trim()));
        }

        if (!string.IsNullOrWhiteSpace(request.Players))
        {
            // Several people play: inputs start with the speaker's name, and the narrator should know who they are.
            sections.Add(new("The players (each input starts with the speaker's name)", request.Players.Trim()));
        }

        if (!string.IsNullOrWhiteSpace(request.Intent))
        {
            sections.Add(new("The player's intent", request.Intent.Trim()));
        }

        if (!string.IsNullOrWhiteSpace(request.Retcons))
        {
            sections.Add(new(NarratorFormat.RetconHeading, request.Retcons.Trim()));
        }

        if (!string.IsNullOrWhiteSpace(request.OutOfCharacter))
        {
            sections.Add(new(NarratorFormat.OutOfCharacterHeading, request.OutOfCharacter.Trim()));
        }

        var markers = sections.Count;
        var used = ContextCost(sections, empty: MessageOverheadTokens);
        if (markers > 0 && fixedTokens + used > _options.MaxPromptTokens)
        {
            throw Problems.Unprocessable("prompt_too_large",
                $"The canon, the input and its markers need {fixedTokens + used} tokens, more than Loom:Prompt:MaxPromptTokens ({_options.MaxPromptTokens}).");
        }
        var budget = Math.Min(Math.Max(_options.MemoryTokens, used), _options.MaxPromptTokens - fixedTokens);
        var truncated = false;

        if (!string.IsNullOrWhiteSpace(request.Summaries))
        {
            var lines = ContextSections.Lines(request.Summaries);
            var kept = KeepWithin(lines.AsEnumerable().Reverse(), budget - used - HeadingCost, ref truncated, out var keptTokens);
            kept.Reverse();
            if (kept.Count > 0)
            {
                sections.Add(new("The story so far", Lines: kept));
                used += HeadingCost + keptTokens; // an estimate: the exact count of the whole text is checked below
            }
        }

        if (!string.IsNullOrWhiteSpace(request.Memory))
        {
            var kept = KeepWithin(ContextSections.Lines(request.Memory), budget - used - HeadingCost, ref truncated, out _);
            if (kept.Count > 0)
            {
                sections.Add(new("What the world remembers", Lines: kept));
            }
        }

        var tokens = ContextCost(sections, empty: 0);
        // Headings and joins are estimated above; drop whole sections from the end if the estimate was short (never
        // the markers', which fit on their own).
        while (tokens > budget && sections.Count > markers)
        {
            sections.RemoveAt(sections.Count - 1);
            truncated = true;
            tokens = ContextCost(sections, empty: 0);
        }

        return (ContextSections.Render(sections), tokens, truncated);
    }

    /// <summary>Exactly <c>Cost(Render(sections))</c>, from cached pieces (see <see cref="ContextSections"/>).</summary>
    private int ContextCost(List<ContextSection> sections, int empty) =>
        sections.Count == 0 ? empty : _context.Count(sections) + MessageOverheadTokens;

    private const int HeadingCost = 12;

    private List<ReadOnlyMemory<char>> KeepWithin(IEnumerable<ReadOnlyMemory<char>> lines, int budget, ref bool truncated, out int used)
    {
        var kept = new List<ReadOnlyMemory<char>>();
        used = 0;
        foreach (var line in lines)
        {
            var cost = _context.LineTokens(line, ContextSections.Follower.Newline);
            if (used + cost > budget)
            {
                truncated = true;
                break;
            }

            kept.Add(line);
            used += cost;
        }

        return kept;
    }


    /// <summary>Newest turns that fit the budget, returned in chronological order; a turn goes in whole or not at all.</summary>
    private List<PromptTurn> SelectHistory(IReadOnlyList<PromptTurn> turns, int budget, out int tokens)
    {
        var picked = new List<PromptTurn>();
        tokens = 0;
        for (var i = turns.Count - 1; i >= 0; i--)
        {
            var turn = turns[i];
            if (!IsUsable(turn))
            {
                continue; // a turn without narrative (failed) would leave two user messages in a row
            }

            var cost = CachedCost(turn.Input) + CachedCost(turn.Narrative);
            if (tokens + cost > budget)
            {
                break;
            }

            picked.Add(turn);
            tokens += cost;
        }

        picked.Reverse();
        return picked;
    }

    private static bool IsUsable(PromptTurn turn) => !string.IsNullOrWhiteSpace(turn.Narrative);
}
