using System.Text;
using DiffPlex;
using DiffPlex.Chunkers;
using DiffPlex.Model;
using Loom.Worlds;

namespace Loom.Canon;

/// <summary>Per-file unified diffs between two canon file sets (newlines normalised first, 3 lines of context).</summary>
public static class CanonDiffer
{
    private const int Context = 3;
    /// <summary>
    /// Lines (both sides together) past which a file is not compared line by line: the diff takes time in proportion to
    /// length × changes, on the world's grain, so two versions of a megabyte of short lines would hold every call to that
    /// world for minutes. Canon files are far shorter; such a file is reported with its status and no text.
    /// </summary>
    public const int MaxDiffLines = 20_000;
    private static readonly Differ Differ = new();
    private static readonly IChunker Lines = new LineWithTerminatorChunker();

    public static List<CanonFileDiff> Diff(IReadOnlyDictionary<string, string> from, IReadOnlyDictionary<string, string> to)
    {
        var names = from.Keys.Union(to.Keys).Order(StringComparer.Ordinal);
        var result = new List<CanonFileDiff>();
        foreach (var name in names)
        {
            var hasOld = from.TryGetValue(name, out var oldRaw);
            var hasNew = to.TryGetValue(name, out var newRaw);
            var oldText = hasOld ? CanonText.NormalizeNewlines(oldRaw ?? "") : "";
            var newText = hasNew ? CanonText.NormalizeNewlines(newRaw ?? "") : "";
            var status = (hasOld, hasNew) switch
            {
                (false, _) => FileDiffStatus.Added,
                (_, false) => FileDiffStatus.Removed,
                _ when string.Equals(oldText, newText, StringComparison.Ordinal) => FileDiffStatus.Unchanged,
                _ => FileDiffStatus.Modified,
            };

            if (status != FileDiffStatus.Unchanged && LineCount(oldText) + LineCount(newText) > MaxDiffLines)
            {
                result.Add(new CanonFileDiff { File = name, Status = status, TooLarge = true });
                continue;
            }
            var diff = status == FileDiffStatus.Unchanged
                ? ""
                : Unified(hasOld ? "a/" + name : "/dev/null", hasNew ? "b/" + name : "/dev/null", oldText, newText);
            result.Add(new CanonFileDiff { File = name, Status = status, Diff = diff });
        }

        return result;
    }

    private static int LineCount(string text) => text.AsSpan().Count('\n') + 1;

    /// <summary>Renders a unified diff (<c>---</c>/<c>+++</c> headers, <c>@@ -a,b +c,d @@</c> hunks).</summary>
    public static string Unified(string oldLabel, string newLabel, string oldText, string newText)
    {
        var result = Differ.CreateDiffs(oldText, newText, ignoreWhiteSpace: false, ignoreCase: false, Lines);
        var oldLines = result.PiecesOld;
        var newLines = result.PiecesNew;
        var blocks = result.DiffBlocks;

        var sb = new StringBuilder();
        sb.Append("--- ").Append(oldLabel).Append('\n');
        sb.Append("+++ ").Append(newLabel).Append('\n');

        var b = 0;
        while (b < blocks.Count)
        {
            // Grow a hunk while the next change is close enough that the context windows touch.
            var last = b;
            while (last + 1 < blocks.Count && blocks[last + 1].DeleteStartA - EndA(blocks[last]) <= 2 * Context)
            {
                last++;
            }

            var first = blocks[b];
            var oldStart = Math.Max(0, first.DeleteStartA - Context);
            var newStart = Math.Max(0, first.InsertStartB - Context);
            var oldEnd = Math.Min(oldLines.Count, EndA(blocks[last]) + Context);
            var newEnd = Math.Min(newLines.Count, EndB(blocks[last]) + Context);

            sb.Append("@@ -").Append(Range(oldStart, oldEnd - oldStart))
              .Append(" +").Append(Range(newStart, newEnd - newStart)).Append(" @@\n");

            var a = oldStart;
            for (var i = b; i <= last; i++)
            {
                var block = blocks[i];
                for (; a < block.DeleteStartA; a++)
                {
                    AppendLine(sb, ' ', oldLines[a]);
                }

                for (var d = 0; d < block.DeleteCountA; d++)
                {
                    AppendLine(sb, '-', oldLines[block.DeleteStartA + d]);
                }

                for (var n = 0; n < block.InsertCountB; n++)
                {
                    AppendLine(sb, '+', newLines[block.InsertStartB + n]);
                }

                a = EndA(block);
            }

            for (; a < oldEnd; a++)
            {
                AppendLine(sb, ' ', oldLines[a]);
            }

            b = last + 1;
        }

        return sb.ToString();
    }

    private static int EndA(DiffBlock block) => block.DeleteStartA + block.DeleteCountA;
    private static int EndB(DiffBlock block) => block.InsertStartB + block.InsertCountB;

    /// <summary>Unified ranges are 1-based; an empty range names the line before it (so "0,0" at the top).</summary>
    private static string Range(int start, int count) => count == 0 ? $"{start},0" : $"{start + 1},{count}";

    private static void AppendLine(StringBuilder sb, char prefix, string line)
    {
        sb.Append(prefix);
        if (line.EndsWith('\n'))
        {
            sb.Append(line);
        }
        else
        {
            sb.Append(line).Append("\n\\ No newline at end of file\n");
        }
    }

    /// <summary>Lines keep their '\n' so a change to only the final newline is still a visible difference.</summary>
    private sealed class LineWithTerminatorChunker : IChunker
    {
        public IReadOnlyList<string> Chunk(string text)
        {
            var lines = new List<string>();
            var start = 0;
            while (start < text.Length)
            {
                var end = text.IndexOf('\n', start);
                if (end < 0)
                {
                    lines.Add(text[start..]);
                    break;
                }

                lines.Add(text[start..(end + 1)]);
                start = end + 1;
            }

            return lines;
        }
    }
}
