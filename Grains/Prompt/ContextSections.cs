using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Loom.Text;

namespace Loom.Prompt;

/// <summary>One section of the context message: "## heading", then a body given whole or as lines.</summary>
internal sealed record ContextSection(string Heading, string? Body = null, IReadOnlyList<ReadOnlyMemory<char>>? Lines = null);

/// <summary>
/// Renders the context message (sections apart by a blank line) and counts its tokens exactly without tokenizing the
/// whole text, which changes every turn and was ~9 % of a turn's CPU. The o200k and cl100k pre-tokenizers never carry a
/// piece that ends in a newline into the next one unless that one begins with '\r', '\n' or '/', so the count of such
/// a concatenation is the sum of its pieces' counts: the memory and summary lines are counted one by one (they repeat
/// turn after turn, so from a cache) and other sections whole. PromptAssemblerTests check it against a full count.
/// </summary>
internal sealed class ContextSections(ITokenCounter tokens)
{
    private const int MaxCachedLines = 65_536;
    private readonly ConcurrentDictionary<ulong, int> _lineTokens = new();
    private readonly ConcurrentDictionary<string, int> _headingTokens = new(StringComparer.Ordinal);

    /// <summary>What follows a line inside the rendered message.</summary>
    public enum Follower : long { Nothing = 0, Newline = 1, BlankLine = 2 }

    public static string Render(IReadOnlyList<ContextSection> sections)
    {
        var builder = new StringBuilder(EstimateLength(sections));
        for (var i = 0; i < sections.Count; i++)
        {
            if (i > 0) builder.Append("\n\n");
            AppendSection(builder, sections[i]);
        }
        return builder.ToString();
    }

    /// <summary>The tokens of <see cref="Render"/>'s text (0 for no sections), message overhead not included.</summary>
    public int Count(IReadOnlyList<ContextSection> sections)
    {
        var total = 0;
        for (var i = 0; i < sections.Count; i++)
        {
            var section = sections[i];
            var last = i == sections.Count - 1;
            if (section.Lines is { Count: > 0 } lines && AllStartPieces(lines))
            {
                total += _headingTokens.GetOrAdd(section.Heading, h => tokens.Count($"## {h}\n"));
                for (var k = 0; k < lines.Count - 1; k++) total += LineTokens(lines[k], Follower.Newline);
                total += LineTokens(lines[^1], last ? Follower.Nothing : Follower.BlankLine);
            }
            else
            {
                var builder = new StringBuilder();
                AppendSection(builder, section);
                if (!last) builder.Append("\n\n");
                total += tokens.Count(builder.ToString());
            }
        }
        return total;
    }

    /// <summary>The tokens of <paramref name="line"/> with what follows it in the message (cached by a hash of both).</summary>
    public int LineTokens(ReadOnlyMemory<char> line, Follower follower)
    {
        var key = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(line.Span), (long)follower);
        if (_lineTokens.TryGetValue(key, out var count)) return count;
        count = tokens.Count(follower switch
        {
            Follower.Newline => string.Concat(line.Span, "\n"),
            Follower.BlankLine => string.Concat(line.Span, "\n\n"),
            _ => line.ToString(),
        });
        if (_lineTokens.Count >= MaxCachedLines) _lineTokens.Clear();
        _lineTokens[key] = count;
        return count;
    }

    /// <summary>Whether every line may follow a newline as a piece of its own (see the class remarks).</summary>
    private static bool AllStartPieces(IReadOnlyList<ReadOnlyMemory<char>> lines)
    {
        foreach (var line in lines)
        {
            if (line.Length == 0 || line.Span[0] is '\r' or '\n' or '/') return false;
        }
        return true;
    }

    /// <summary>The lines of <paramref name="text"/> that are not blank, as ranges of it (CRLF read as LF).</summary>
    public static List<ReadOnlyMemory<char>> Lines(string text)
    {
        var source = text.Contains('\r') ? text.Replace("\r\n", "\n") : text;
        var lines = new List<ReadOnlyMemory<char>>();
        var rest = source.AsMemory();
        while (rest.Length > 0)
        {
            var end = rest.Span.IndexOf('\n');
            var line = end < 0 ? rest : rest[..end];
            if (!line.Span.IsWhiteSpace()) lines.Add(line);
            rest = end < 0 ? ReadOnlyMemory<char>.Empty : rest[(end + 1)..];
        }
        return lines;
    }

    private static void AppendSection(StringBuilder builder, ContextSection section)
    {
        builder.Append("## ").Append(section.Heading).Append('\n');
        if (section.Lines is { } lines)
        {
            for (var k = 0; k < lines.Count; k++)
            {
                if (k > 0) builder.Append('\n');
                builder.Append(lines[k].Span);
            }
        }
        else
        {
            builder.Append(section.Body);
        }
    }

    private static int EstimateLength(IReadOnlyList<ContextSection> sections)
    {
        var length = 0;
        foreach (var section in sections)
        {
            length += section.Heading.Length + 6 + (section.Body?.Length ?? 0);
            if (section.Lines is { } lines) foreach (var line in lines) length += line.Length + 1;
        }
        return length;
    }
}
