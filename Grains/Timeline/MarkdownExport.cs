using System.Globalization;
using System.Text;
using Loom.Memory;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>
/// A session as a readable story: the live timeline's completed turns in chapters, one per summary window (the
/// rolling summaries' fromSeq..toSeq), each opened by its summary; turns after the last summary form the last
/// chapter. Out-of-story material (markers, OOC answers, retconned turns) is left out.
/// </summary>
public static class MarkdownExport
{
    public static string Render(SessionExport export)
    {
        ArgumentNullException.ThrowIfNull(export);
        var live = LiveTurns(export);
        var windows = export.Memory
            .Select(e => e.Current)
            .Where(e => e is { Type: EntityType.Summary })
            .Select(e => (From: Seq(e!, RollingSummarizer.FromSeqAttribute), To: Seq(e!, RollingSummarizer.ToSeqAttribute), e!.Content))
            .Where(w => w.From > 0 && w.To >= w.From)
            .OrderBy(w => w.From)
            .ToList();

        var sb = new StringBuilder();
        sb.Append("# ").Append(export.Session.Name).Append("\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"*World {export.Canon.WorldId}, canon version {export.Canon.Version}. {live.Count} turns.*\n");

        var chapter = 0;
        var next = 1;
        foreach (var (from, to, summary) in windows)
        {
            if (from < next) continue;
            if (from > next) WriteChapter(sb, ++chapter, next, from - 1, null, live);
            WriteChapter(sb, ++chapter, from, to, summary, live);
            next = to + 1;
        }
        var last = live.Count > 0 ? live[^1].Seq : 0;
        if (last >= next) WriteChapter(sb, ++chapter, next, last, null, live);
        return sb.ToString();
    }

    private static void WriteChapter(StringBuilder sb, int number, int from, int to, string? summary, List<TurnView> live)
    {
        var turns = live.Where(t => t.Seq >= from && t.Seq <= to).ToList();
        if (turns.Count == 0) return;
        sb.Append(CultureInfo.InvariantCulture, $"\n## Chapter {number} (turns {from}–{to})\n\n");
        if (!string.IsNullOrWhiteSpace(summary)) sb.Append("> ").Append(summary.ReplaceLineEndings(" ").Trim()).Append("\n\n");
        foreach (var turn in turns)
        {
            if (turn.StoryInput.Trim().Length > 0) sb.Append("**You:** ").Append(turn.StoryInput.ReplaceLineEndings(" ").Trim()).Append("\n\n");
            sb.Append(turn.Narrative.Trim()).Append("\n\n");
        }
    }

    private static List<TurnView> LiveTurns(SessionExport export) =>
        export.Turns.Where(t => t.Status == TurnStatus.Completed).OrderBy(t => t.Seq).ToList();

    private static int Seq(MemoryEntity entity, string key) =>
        entity.Attributes.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
}
