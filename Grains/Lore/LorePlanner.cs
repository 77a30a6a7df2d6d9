using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Loom.Prompt;
using Loom.Text;
using Loom.Turns;
using Microsoft.Extensions.Options;

namespace Loom.Lore;

/// <summary>The story a lore scan sees for one turn.</summary>
public sealed record LoreScan
{
    /// <summary>Keys the dice: the same session and turn always roll the same.</summary>
    public required string SessionId { get; init; }
    public required int Seq { get; init; }
    /// <summary>Newest first: the player's input, then the previous narrative, the previous input, ….</summary>
    public required IReadOnlyList<string> Messages { get; init; }
    /// <summary>Earlier live turns with the lore they used (for sticky, cooldown and delay).</summary>
    public IReadOnlyList<TurnView> Earlier { get; init; } = [];

    /// <summary>The scan for a turn: its input, then earlier completed turns newest first.</summary>
    public static LoreScan ForTurn(string sessionId, TurnView turn, IReadOnlyList<TurnView> earlier)
    {
        var messages = new List<string> { turn.StoryInput };
        for (var i = earlier.Count - 1; i >= 0 && messages.Count <= LoreFiles.MaxScanDepth; i--)
        {
            if (earlier[i].Seq >= turn.Seq) continue;
            messages.Add(earlier[i].Narrative);
            messages.Add(earlier[i].StoryInput);
        }
        return new LoreScan { SessionId = sessionId, Seq = turn.Seq, Messages = messages, Earlier = earlier };
    }
}

/// <summary>
/// Decides which lore entries go into a turn's prompt, with SillyTavern World Info semantics: keys (plain or regex,
/// case and whole-word options) with secondary-key logic, constant entries, probability, scan depth, sticky, cooldown
/// and delay, recursion, inclusion groups, and a token budget. Narrative-blind: entries are placed verbatim; the
/// planner only matches text and counts tokens. Deterministic for a given session, turn and story.
/// </summary>
public sealed class LorePlanner(IOptions<PromptOptions> options, ITokenCounter tokens)
{
    private readonly int _budget = options.Value.LoreTokens;

    public LorePlacement Plan(LoreBook book, LoreScan scan)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(scan);
        if (book.Entries.Count == 0) return LorePlacement.None;

        var timers = new LoreTimers(scan.Seq, scan.Earlier);
        var budget = new LoreRegexBudget(LoreRegexBudget.PerTurn);
        var chosen = new List<(LoreEntry Entry, LoreFired Why)>();
        var decided = new HashSet<string>(StringComparer.Ordinal); // activated, or rolled and lost: never reconsidered
        var groupsTaken = new HashSet<string>(StringComparer.Ordinal);
        var candidates = book.Entries.Where(e => e.Enabled && e.Content.Length > 0 && !timers.IsCoolingDown(e) && !timers.IsDelayed(e)).ToList();

        // Sticky entries carry on without a key and without a new roll; then constants; then the chat scan.
        var round = new List<(LoreEntry, LoreFired)>();
        foreach (var entry in candidates)
        {
            if (timers.IsSticky(entry)) round.Add((entry, new LoreFired { Entry = entry.Id, Reason = LoreReasons.Sticky }));
        }
        Admit(round);

        round.Clear();
        foreach (var entry in candidates.Where(e => !decided.Contains(e.Id)))
        {
            if (entry.Constant)
            {
                if (Roll(entry)) round.Add((entry, new LoreFired { Entry = entry.Id, Reason = LoreReasons.Constant }));
                continue;
            }
            var text = ScanText(scan, entry.ScanDepth ?? book.ScanDepth);
            if (Match(entry, text, text, budget) is { } key && Roll(entry))
                round.Add((entry, new LoreFired { Entry = entry.Id, Reason = LoreReasons.Key, Key = key }));
        }
        var added = Admit(round);

        // Recursion: the text of what was just activated may activate more, up to the world's depth.
        for (var level = 1; level <= book.RecursionDepth && added.Count > 0; level++)
        {
            var recursed = string.Join("\n", added.Where(e => !e.PreventRecursion).Select(e => e.Content));
            if (recursed.Length == 0) break;
            round.Clear();
            foreach (var entry in candidates.Where(e => !decided.Contains(e.Id) && !e.ExcludeRecursion && !e.Constant))
            {
                var secondaryText = ScanText(scan, entry.ScanDepth ?? book.ScanDepth) + "\n" + recursed;
                if (Match(entry, recursed, secondaryText, budget) is { } key && Roll(entry))
                    round.Add((entry, new LoreFired { Entry = entry.Id, Reason = LoreReasons.Recursion, Key = key }));
            }
            added = Admit(round);
        }

        return Place(chosen, book.Tokens is { } own ? Math.Min(own, _budget) : _budget);

        bool Roll(LoreEntry entry)
        {
            decided.Add(entry.Id);
            return entry.Probability >= 100 || (entry.Probability > 0 && Dice(scan, entry.Id) * 100 < entry.Probability);
        }

        // Inclusion groups: one entry per group; an entry already in (e.g. sticky) keeps its group, else a weighted draw.
        List<LoreEntry> Admit(List<(LoreEntry Entry, LoreFired Why)> activated)
        {
            var admitted = new List<LoreEntry>();
            foreach (var (entry, why) in activated.Where(a => a.Entry.Groups.Count == 0))
            {
                decided.Add(entry.Id);
                chosen.Add((entry, why));
                admitted.Add(entry);
            }
            var grouped = activated.Where(a => a.Entry.Groups.Count > 0).ToList();
            foreach (var group in grouped.SelectMany(a => a.Entry.Groups).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (groupsTaken.Contains(group)) continue;
                var members = grouped.Where(a => a.Entry.Groups.Contains(group, StringComparer.Ordinal)
                    && !a.Entry.Groups.Any(groupsTaken.Contains)).ToList();
                if (members.Count == 0) continue;
                var sticky = members.FirstOrDefault(m => m.Why.Reason == LoreReasons.Sticky);
                var winner = sticky.Entry is not null ? sticky : Draw(members, Dice(scan, "group:" + group));
                decided.Add(winner.Entry.Id);
                chosen.Add(winner);
                admitted.Add(winner.Entry);
                foreach (var g in winner.Entry.Groups) groupsTaken.Add(g);
            }
            foreach (var (entry, _) in grouped) decided.Add(entry.Id);
            return admitted;
        }
    }

    /// <summary>The first primary key found in <paramref name="primaryText"/>, if the secondary keys agree.</summary>
    internal static string? Match(LoreEntry entry, string primaryText, string secondaryText, LoreRegexBudget? budget = null)
    {
        var key = entry.Keys.FirstOrDefault(k => k.Matches(primaryText, entry.CaseSensitive, entry.WholeWords, budget));
        if (key is null) return null;
        if (entry.SecondaryKeys.Count == 0) return key.Text;
        var hits = entry.SecondaryKeys.Count(k => k.Matches(secondaryText, entry.CaseSensitive, entry.WholeWords, budget));
        var pass = entry.Logic switch
        {
            LoreLogic.AndAny => hits > 0,
            LoreLogic.AndAll => hits == entry.SecondaryKeys.Count,
            LoreLogic.NotAny => hits == 0,
            LoreLogic.NotAll => hits < entry.SecondaryKeys.Count,
            _ => false,
        };
        return pass ? key.Text : null;
    }

    private static string ScanText(LoreScan scan, int depth) => string.Join("\n", scan.Messages.Take(Math.Max(0, depth)));

    /// <summary>A number in [0, 1) fixed by session, turn and what is rolled for.</summary>
    internal static double Dice(LoreScan scan, string what)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{scan.SessionId}\n{scan.Seq}\n{what}"));
        return (BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) / (double)(1UL << 53);
    }

    private static (LoreEntry Entry, LoreFired Why) Draw(List<(LoreEntry Entry, LoreFired Why)> members, double dice)
    {
        var ordered = members.OrderBy(m => m.Entry.Id, StringComparer.Ordinal).ToList();
        var total = ordered.Sum(m => (long)m.Entry.GroupWeight);
        var point = dice * total;
        foreach (var member in ordered)
        {
            point -= member.Entry.GroupWeight;
            if (point < 0) return member;
        }
        return ordered[^1];
    }

    /// <summary>Highest order first into the budget; then each position in ascending order (higher order nearer the end).</summary>
    private LorePlacement Place(List<(LoreEntry Entry, LoreFired Why)> chosen, int budget)
    {
        if (chosen.Count == 0) return LorePlacement.None;
        var kept = new List<(LoreEntry Entry, LoreFired Why)>();
        var over = new List<string>();
        var used = 0;
        foreach (var (entry, why) in chosen.OrderByDescending(c => c.Entry.Order).ThenBy(c => c.Entry.Id, StringComparer.Ordinal))
        {
            var cost = tokens.Count(entry.Content) + 1;
            if (used + cost > budget)
            {
                over.Add(entry.Id);
                continue;
            }
            used += cost;
            kept.Add((entry, why with { Tokens = cost }));
        }
        kept.Reverse(); // ascending order: higher order sits later

        string Join(IEnumerable<(LoreEntry Entry, LoreFired Why)> items) => string.Join("\n\n", items.Select(i => i.Entry.Content));
        var before = Join(kept.Where(k => k.Entry.Position == LorePosition.BeforeCanon));
        var after = Join(kept.Where(k => k.Entry.Position == LorePosition.AfterCanon));
        var atDepth = kept.Where(k => k.Entry.Position == LorePosition.AtDepth)
            .GroupBy(k => (k.Entry.Depth, k.Entry.Role))
            .OrderByDescending(g => g.Key.Depth).ThenBy(g => g.Key.Role)
            .Select(g => new LoreDepthMessage(g.Key.Depth, g.Key.Role, Join(g)))
            .ToList();
        var messageTokens = (before.Length > 0 ? PromptAssembler.MessageOverheadTokens : 0)
            + (after.Length > 0 ? PromptAssembler.MessageOverheadTokens : 0)
            + atDepth.Count * PromptAssembler.MessageOverheadTokens;
        return new LorePlacement
        {
            BeforeCanon = before,
            AfterCanon = after,
            AtDepth = atDepth,
            Fired = kept.Select(k => k.Why).ToList(),
            Tokens = used + messageTokens,
            OverBudget = over,
        };
    }
}
