using System.Text;
using Loom.Turns;

namespace Loom.Interventions;

/// <summary>
/// Finds inline out-of-story markers in a player's input: <c>(OOC: …)</c>, <c>((…))</c> and a line starting
/// <c>/ooc</c> → "ooc"; <c>[EDIT: …]</c>, <c>[RETCON: …]</c>, <c>[TONE: …]</c>, <c>[INTENT: …]</c>,
/// <c>[META: …]</c>. Keywords are case-insensitive; full-width <c>：</c> and <c>（）</c> work too. Brackets nest,
/// an unterminated marker stays story text, and anything inside Markdown code (fences or backticks) or after
/// a backslash is left alone, so players can quote the syntax.
/// </summary>
public static class InterventionParser
{
    public const string Ooc = "ooc";
    public const string Edit = "edit";
    public const string Retcon = "retcon";
    public const string Tone = "tone";
    public const string Intent = "intent";
    public const string Meta = "meta";

    private static readonly string[] BracketKeywords = ["EDIT", "RETCON", "TONE", "INTENT", "META"];

    public static ParsedInput Parse(string? input)
    {
        var s = (input ?? "").Replace("\r\n", "\n").Replace('\r', '\n');
        var scanner = new Scanner(s);
        scanner.Run();
        return new ParsedInput { StoryText = scanner.Output.ToString().Trim(), Interventions = scanner.Found };
    }

    private sealed class Scanner(string s)
    {
        public readonly StringBuilder Output = new(s.Length);
        public readonly List<Intervention> Found = [];

        public void Run()
        {
            var i = 0;
            while (i < s.Length)
            {
                if (i == 0 || s[i - 1] == '\n')
                {
                    if (TryCopyFence(ref i) || TrySlashOoc(ref i))
                    {
                        continue;
                    }
                }

                var c = s[i];
                if (c == '\\' && i + 1 < s.Length)
                {
                    // An escaped opener is literal text, as in Markdown.
                    Output.Append(c).Append(s[i + 1]);
                    i += 2;
                }
                else if (c == '`')
                {
                    CopyInlineCode(ref i);
                }
                else if (TryMarker(i, out var end, out var type, out var content))
                {
                    Found.Add(new Intervention { Type = type, Content = content });
                    i = Removed(end);
                }
                else
                {
                    Output.Append(c);
                    i++;
                }
            }
        }

        /// <summary>Copies a fenced code block (``` or ~~~) verbatim, up to its closing fence or the end.</summary>
        private bool TryCopyFence(ref int i)
        {
            var indent = SkipHorizontal(i);
            if (indent >= s.Length || (s[indent] != '`' && s[indent] != '~'))
            {
                return false;
            }

            var fenceChar = s[indent];
            var fenceLen = Run(indent, fenceChar);
            if (fenceLen < 3 || (fenceChar == '`' && s.AsSpan(indent + fenceLen, LineEnd(i) - indent - fenceLen).Contains('`')))
            {
                return false; // "```x```" on one line is inline code, not a fence (CommonMark)
            }

            var pos = LineEnd(i);
            while (pos < s.Length)
            {
                var lineStart = pos + 1;
                var content = SkipHorizontal(lineStart);
                var next = LineEnd(lineStart);
                if (content < s.Length && s[content] == fenceChar && Run(content, fenceChar) >= fenceLen
                    && string.IsNullOrWhiteSpace(s[(content + Run(content, fenceChar))..next]))
                {
                    pos = next;
                    break;
                }

                pos = next;
            }

            var stop = Math.Min(pos + 1, s.Length);
            Output.Append(s, i, stop - i);
            i = stop;
            return true;
        }

        /// <summary>A line beginning "/ooc" is wholly an ooc note.</summary>
        private bool TrySlashOoc(ref int i)
        {
            var start = SkipHorizontal(i);
            if (string.Compare(s, start, "/ooc", 0, 4, StringComparison.OrdinalIgnoreCase) != 0)
            {
                return false;
            }

            var after = start + 4;
            if (after < s.Length && !char.IsWhiteSpace(s[after]) && s[after] is not (':' or '：'))
            {
                return false; // "/oocx" is not the command
            }

            var end = LineEnd(i);
            var content = s[after..end].Trim().TrimStart(':', '：').Trim();
            Found.Add(new Intervention { Type = Ooc, Content = content });
            i = Removed(end);
            return true;
        }

        /// <summary>Copies `code` verbatim; a backtick run with no partner in the same paragraph is literal.</summary>
        private void CopyInlineCode(ref int i)
        {
            var len = Run(i, '`');
            var search = i + len;
            while (search < s.Length)
            {
                var close = s.IndexOf('`', search);
                if (close < 0)
                {
                    break;
                }

                var closeLen = Run(close, '`');
                if (closeLen == len)
                {
                    if (HasBlankLine(i + len, close))
                    {
                        break;
                    }

                    Output.Append(s, i, close + len - i);
                    i = close + len;
                    return;
                }

                search = close + closeLen;
            }

            Output.Append(s, i, len);
            i += len;
        }

        private bool TryMarker(int i, out int end, out string type, out string content)
        {
            end = 0;
            type = "";
            content = "";
            var c = s[i];
            if (IsOpenParen(c))
            {
                if (i + 1 < s.Length && IsOpenParen(s[i + 1]))
                {
                    // ((…)): the whole inside is the note; a leading "OOC:" inside is redundant and dropped.
                    var close = FindDoubleClose(i);
                    if (close < 0)
                    {
                        return false;
                    }

                    var inner = s[(i + 2)..close].Trim();
                    var keyed = KeywordColon(inner, 0, "OOC");
                    content = keyed >= 0 ? inner[keyed..].Trim() : inner;
                    if (inner.Length == 0)
                    {
                        return false;
                    }

                    type = Ooc;
                    end = close + 2;
                    return true;
                }

                var afterColon = KeywordColon(s, i + 1, "OOC");
                if (afterColon < 0)
                {
                    return false;
                }

                var closing = ParenMatch[i];
                if (closing < 0)
                {
                    return false;
                }

                type = Ooc;
                content = s[afterColon..closing].Trim();
                end = closing + 1;
                return true;
            }

            if (c == '[')
            {
                foreach (var keyword in BracketKeywords)
                {
                    var afterColon = KeywordColon(s, i + 1, keyword);
                    if (afterColon < 0)
                    {
                        continue;
                    }

                    var closing = BracketMatch[i];
                    if (closing < 0)
                    {
                        return false;
                    }

                    type = keyword.ToLowerInvariant();
                    content = s[afterColon..closing].Trim();
                    end = closing + 1;
                    return true;
                }
            }

            return false;
        }

        /// <summary>Index after "KEYWORD :" (spaces allowed, ASCII or full-width colon) at <paramref name="at"/>, else -1.</summary>
        private static int KeywordColon(string text, int at, string keyword)
        {
            var p = at;
            while (p < text.Length && text[p] is ' ' or '\t')
            {
                p++;
            }

            if (string.Compare(text, p, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) != 0)
            {
                return -1;
            }

            p += keyword.Length;
            while (p < text.Length && text[p] is ' ' or '\t')
            {
                p++;
            }

            return p < text.Length && text[p] is ':' or '：' ? p + 1 : -1;
        }

        /// <summary>
        /// For every opener, the index of the closer that balances it (-1 if none), computed once with a stack so
        /// that inputs full of unclosed openers cost linear time rather than a rescan per opener.
        /// </summary>
        private static int[] MatchPairs(string text, Func<char, bool> isOpen, Func<char, bool> isClose)
        {
            var match = new int[text.Length];
            Array.Fill(match, -1);
            var open = new Stack<int>();
            for (var j = 0; j < text.Length; j++)
            {
                if (isOpen(text[j]))
                {
                    open.Push(j);
                }
                else if (isClose(text[j]) && open.Count > 0)
                {
                    match[open.Pop()] = j;
                }
            }

            return match;
        }

        private int[] ParenMatch => _parenMatch ??= MatchPairs(s, IsOpenParen, IsCloseParen);
        private int[] BracketMatch => _bracketMatch ??= MatchPairs(s, c => c == '[', c => c == ']');
        private int[]? _parenMatch;
        private int[]? _bracketMatch;

        /// <summary>Index of the "))" closing the "((" at <paramref name="open"/>; -1 when the inner ")" is single (plain nesting).</summary>
        private int FindDoubleClose(int open)
        {
            var inner = ParenMatch[open + 1];
            return inner >= 0 && inner + 1 < s.Length && IsCloseParen(s[inner + 1]) ? inner : -1;
        }

        /// <summary>
        /// Tidies whitespace where a marker (ending at <paramref name="end"/>) was cut out and returns where to
        /// resume: a line left empty disappears (without leaving a double blank line), and mid-line the gap
        /// closes to one space, or none before punctuation.
        /// </summary>
        private int Removed(int end)
        {
            var trail = 0;
            while (trail < Output.Length && Output[Output.Length - 1 - trail] is ' ' or '\t')
            {
                trail++;
            }

            var atLineStart = Output.Length == trail || Output[Output.Length - 1 - trail] == '\n';
            var next = SkipHorizontal(end);
            var atLineEnd = next >= s.Length || s[next] == '\n';

            if (atLineStart && atLineEnd)
            {
                Output.Length -= trail;
                var resume = next < s.Length ? next + 1 : next;
                if (Output.Length == 0 || EndsWithBlankLine())
                {
                    while (resume < s.Length)
                    {
                        var lineEnd = LineEnd(resume);
                        if (!string.IsNullOrWhiteSpace(s[resume..lineEnd]) || lineEnd >= s.Length)
                        {
                            break;
                        }

                        resume = lineEnd + 1;
                    }
                }

                return resume;
            }

            if (atLineStart)
            {
                return next;
            }

            if (atLineEnd)
            {
                Output.Length -= trail;
                return next;
            }

            var hadSpace = trail > 0 || next > end;
            Output.Length -= trail;
            if (hadSpace && !IsClosingPunctuation(s[next]))
            {
                Output.Append(' ');
            }

            return next;
        }

        private bool EndsWithBlankLine() =>
            Output.Length >= 2 && Output[^1] == '\n' && Output[^2] == '\n';

        private bool HasBlankLine(int from, int to)
        {
            var sawNewline = false;
            for (var j = from; j < to; j++)
            {
                if (s[j] == '\n')
                {
                    if (sawNewline)
                    {
                        return true;
                    }

                    sawNewline = true;
                }
                else if (s[j] is not (' ' or '\t'))
                {
                    sawNewline = false;
                }
            }

            return false;
        }

        private int SkipHorizontal(int p)
        {
            while (p < s.Length && s[p] is ' ' or '\t')
            {
                p++;
            }

            return p;
        }

        private int LineEnd(int p)
        {
            var nl = s.IndexOf('\n', p);
            return nl < 0 ? s.Length : nl;
        }

        private int Run(int p, char c)
        {
            var n = 0;
            while (p + n < s.Length && s[p + n] == c)
            {
                n++;
            }

            return n;
        }

        private static bool IsOpenParen(char c) => c is '(' or '（';
        private static bool IsCloseParen(char c) => c is ')' or '）';
        private static bool IsClosingPunctuation(char c) => c is '.' or ',' or ';' or ':' or '!' or '?' or ')' or ']' or '}'
            or '。' or '，' or '；' or '：' or '！' or '？' or '、' or '）' or '」' or '』';
    }
}
