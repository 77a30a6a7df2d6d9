using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Loom.Text;

namespace Loom.Memory;

/// <summary>One committed turn as the summarizer sees it.</summary>
public sealed record TurnText(int Seq, string Input, string Narrative);

/// <summary>Turns <see cref="FromSeq"/>..<see cref="ToSeq"/> (inclusive) to fold into one summary.</summary>
public readonly record struct SummaryRange(int FromSeq, int ToSeq);

/// <summary>
/// Folds turns that have left the prompt's recent window into summary entities ("summary:turns-1-10"), one per
/// block of <see cref="MemoryOptions.SummaryEveryTurns"/> turns, so old turns stay represented in memory. The
/// offline path summarizes extractively; a real narrator can be asked with <see cref="BuildInstruction"/>.
/// Summary ids and texts depend only on the turns, so replays and forks produce the same summaries.
/// </summary>
public sealed partial class RollingSummarizer(MemoryOptions options)
{
    public const string FromSeqAttribute = "fromSeq";
    public const string ToSeqAttribute = "toSeq";

    /// <summary>
    /// After turn <paramref name="seq"/> committed: the next block to summarize, or null when fewer than
    /// N turns have left the recent window since <paramref name="lastSummarizedSeq"/> (see WorldMemory.LastSummarizedSeq).
    /// </summary>
    public SummaryRange? Due(int seq, int lastSummarizedSeq)
    {
        var outsideWindow = seq - options.RecentWindowTurns;
        return outsideWindow - lastSummarizedSeq >= options.SummaryEveryTurns
            ? new SummaryRange(lastSummarizedSeq + 1, lastSummarizedSeq + options.SummaryEveryTurns)
            : null;
    }

    /// <summary>The upsert that stores a summary of <paramref name="range"/>; apply it with the current turn's seq.</summary>
    public MemoryOp CreateOp(SummaryRange range, string summary) => new()
    {
        Op = MemoryOpNormalizer.Upsert,
        Type = EntityType.Summary,
        Name = $"Turns {range.FromSeq}-{range.ToSeq}",
        Content = TextClip.Ellipsize(summary.Trim(), options.MaxSummaryChars),
        Attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FromSeqAttribute] = range.FromSeq.ToString(CultureInfo.InvariantCulture),
            [ToSeqAttribute] = range.ToSeq.ToString(CultureInfo.InvariantCulture),
        },
    };

    /// <summary>
    /// Extractive summary: each turn's most telling narrative sentence (first sentences, names and numbers score),
    /// then the next best sentences while room is left, kept in story order.
    /// </summary>
    public string Summarize(IReadOnlyList<TurnText> turns)
    {
        var candidates = new List<(int Turn, int Index, string Text, double Score)>();
        for (var t = 0; t < turns.Count; t++)
        {
            var source = string.IsNullOrWhiteSpace(turns[t].Narrative) ? turns[t].Input : turns[t].Narrative;
            var sentences = Sentences(source ?? "");
            for (var i = 0; i < sentences.Count; i++) candidates.Add((t, i, sentences[i], Score(sentences[i], i)));
        }
        var chosen = new HashSet<(int, int)>();
        var length = 0;
        // First pass: the best sentence of every turn, so no turn vanishes; second: the best of the rest.
        var bestPerTurn = candidates.GroupBy(c => c.Turn).Select(g => g.OrderByDescending(c => c.Score).ThenBy(c => c.Index).First());
        foreach (var pass in new[] { bestPerTurn, candidates.OrderByDescending(c => c.Score).ThenBy(c => c.Turn).ThenBy(c => c.Index) })
        {
            foreach (var c in pass)
            {
                if (chosen.Contains((c.Turn, c.Index)) || length + c.Text.Length + 1 > options.MaxSummaryChars) continue;
                chosen.Add((c.Turn, c.Index));
                length += c.Text.Length + 1;
            }
        }
        var sb = new StringBuilder(length);
        foreach (var c in candidates.Where(c => chosen.Contains((c.Turn, c.Index))))
        {
            if (sb.Length > 0 && !TextAnalyzer.IsCjk(c.Text[0])) sb.Append(' ');
            sb.Append(c.Text);
        }
        return sb.ToString();
    }

    /// <summary>Instructions for a narrator model to summarize the turns (its answer goes to <see cref="CreateOp"/>).</summary>
    public string BuildInstruction(IReadOnlyList<TurnText> turns)
    {
        var sb = new StringBuilder();
        sb.Append("Summarize the following turns of an interactive story in at most ")
            .Append(options.MaxSummaryChars.ToString(CultureInfo.InvariantCulture))
            .Append(" characters, in the story's language. Keep names, places, objects, promises, secrets and ")
            .Append("unresolved threads; drop atmosphere. Answer with the summary only.\n\n");
        foreach (var turn in turns)
        {
            sb.Append("Turn ").Append(turn.Seq.ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (!string.IsNullOrWhiteSpace(turn.Input)) sb.Append("Player: ").Append(turn.Input.Trim()).Append('\n');
            sb.Append("Narrator: ").Append(turn.Narrative.Trim()).Append("\n\n");
        }
        return sb.ToString();
    }

    private static double Score(string sentence, int index)
    {
        var score = index == 0 ? 1.0 : 0.0;
        score += Math.Min(2, ProperNoun().Count(sentence)) * 0.5;
        if (sentence.Any(char.IsDigit)) score += 0.5;
        if (sentence.Length < 20) score -= 0.5;
        if (sentence.Length > 300) score -= 0.5;
        return score;
    }

    internal static List<string> Sentences(string text) =>
        SentenceEnd().Split(text.Trim()).Select(s => Spaces().Replace(s, " ").Trim()).Where(s => s.Length > 0).ToList();

    // Split after . ! ? (and their CJK forms) plus closing quotes, where whitespace or a CJK mark ends the sentence.
    [GeneratedRegex(@"(?<=[.!?…][""'”’)]?)\s+|(?<=[。！？][」』”’]?)")]
    private static partial Regex SentenceEnd();

    // A capitalised word that does not start the sentence.
    [GeneratedRegex(@"(?<=\s)\p{Lu}\p{Ll}+")]
    private static partial Regex ProperNoun();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
