namespace Loom.Memory;

/// <summary>
/// Splits text for matching. Latin-script words are lower-cased runs of letters and digits; CJK text has no
/// spaces, so it is taken character by character (for names) or as overlapping bigrams (for full-text search).
/// </summary>
internal static class TextAnalyzer
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "did", "do", "does", "for", "from", "had",
        "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or",
        "our", "she", "so", "that", "the", "their", "them", "then", "there", "they", "this", "to", "was", "we",
        "were", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your", "how", "about",
        "can", "could", "would", "should", "not", "no", "yes", "all", "any", "some", "than", "too", "very", "just",
        "again", "still", "now", "up", "out", "over", "under", "here", "him", "us", "let", "s", "t",
    };

    public static bool IsCjk(char c) =>
        c is (>= '\u3040' and <= '\u30FF') or (>= '\u3400' and <= '\u4DBF') or (>= '\u4E00' and <= '\u9FFF')
            or (>= '\uAC00' and <= '\uD7AF') or (>= '\uF900' and <= '\uFAFF');

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) && !IsCjk(c);

    public static bool IsStopWord(ReadOnlySpan<char> word) => StopWordLookup.Contains(word);

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> StopWordLookup =
        StopWords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Plural folding on a lower-case word in place; returns the stem's length (see <see cref="Stem(string)"/>).</summary>
    public static int Stem(Span<char> word)
    {
        var n = word.Length;
        if (n > 4 && word.EndsWith("ies"))
        {
            word[n - 3] = 'y';
            return n - 2;
        }
        if (n > 4 && (word.EndsWith("sses") || word.EndsWith("xes") || word.EndsWith("ches") || word.EndsWith("shes"))) return n - 2;
        if (n > 3 && word[^1] == 's' && word[^2] is not ('s' or 'u' or 'i') && !char.IsDigit(word[^2])) return n - 1;
        return n;
    }

    /// <summary>Terms for name matching: every word (lower case) and every CJK character, in order.</summary>
    public static List<string> KeywordTerms(string text)
    {
        var lower = text.ToLowerInvariant();
        var ranges = new List<(int Start, int Length)>();
        KeywordTermRanges(lower, ranges);
        var terms = new List<string>(ranges.Count);
        foreach (var (start, length) in ranges) terms.Add(length == 1 ? CharString(lower[start]) : lower.Substring(start, length));
        return terms;
    }

    /// <summary>Where the terms of <see cref="KeywordTerms"/> are in <paramref name="text"/> (pass it lower-cased).</summary>
    public static void KeywordTermRanges(string text, List<(int Start, int Length)> into) => KeywordTermRanges(text.AsSpan(), into);

    /// <inheritdoc cref="KeywordTermRanges(string, List{ValueTuple{int, int}})"/>
    public static void KeywordTermRanges(ReadOnlySpan<char> text, List<(int Start, int Length)> into)
    {
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (IsCjk(c))
            {
                into.Add((i, 1));
                i++;
            }
            else if (IsWordChar(c))
            {
                var start = i;
                while (i < text.Length && (IsWordChar(text[i]) || char.GetUnicodeCategory(text[i]) is System.Globalization.UnicodeCategory.NonSpacingMark)) i++;
                into.Add((start, i - start));
            }
            else
            {
                i++;
            }
        }
    }

    /// <summary>Terms for BM25: stemmed words without stop words, CJK bigrams (a lone CJK character stays a unigram).</summary>
    public static void IndexTerms(string text, List<string> into)
    {
        var terms = new IndexTermEnumerator(text, stackalloc char[IndexTermEnumerator.BufferLength]);
        while (terms.MoveNext()) into.Add(terms.Current.ToString());
    }

    /// <summary>Plural folding only: enough for "keys"/"key", too little to merge unrelated words.</summary>
    public static string Stem(string word)
    {
        var chars = word.ToCharArray();
        var length = Stem(chars.AsSpan());
        return chars.AsSpan(0, length).SequenceEqual(word) ? word : new string(chars, 0, length);
    }

    private static readonly string[] AsciiChars = Enumerable.Range(0, 128).Select(c => ((char)c).ToString()).ToArray();

    private static string CharString(char c) => c < 128 ? AsciiChars[c] : c.ToString();
}

/// <summary>
/// The BM25 terms of a text as spans over the text or a caller's buffer, without allocating: lower-cased, stemmed
/// words that are not stop words (a word is cut at <see cref="BufferLength"/> characters), and CJK bigrams.
/// </summary>
internal ref struct IndexTermEnumerator(ReadOnlySpan<char> text, Span<char> buffer)
{
    public const int BufferLength = 128;

    private readonly ReadOnlySpan<char> _text = text;
    private readonly Span<char> _buffer = buffer;
    private int _i;
    private int _cjkEnd = -1;

    public ReadOnlySpan<char> Current { get; private set; }

    public bool MoveNext()
    {
        var text = _text;
        while (true)
        {
            // Inside a CJK run: overlapping bigrams.
            if (_cjkEnd >= 0)
            {
                if (_i < _cjkEnd - 1)
                {
                    Current = text.Slice(_i++, 2);
                    return true;
                }
                _i = _cjkEnd;
                _cjkEnd = -1;
            }
            if (_i >= text.Length) return false;
            var c = text[_i];
            if (TextAnalyzer.IsCjk(c))
            {
                var start = _i;
                var end = _i;
                while (end < text.Length && TextAnalyzer.IsCjk(text[end])) end++;
                if (end - start == 1)
                {
                    _i = end;
                    Current = text.Slice(start, 1);
                    return true;
                }
                _cjkEnd = end;
                continue;
            }
            if (char.IsLetterOrDigit(c))
            {
                var start = _i;
                while (_i < text.Length && char.IsLetterOrDigit(text[_i]) && !TextAnalyzer.IsCjk(text[_i])) _i++;
                var length = Math.Min(_i - start, _buffer.Length);
                if (_i - start < 2) continue;
                var word = _buffer[..length];
                text.Slice(start, length).ToLowerInvariant(word);
                if (TextAnalyzer.IsStopWord(word)) continue;
                Current = word[..TextAnalyzer.Stem(word)];
                return true;
            }
            _i++;
        }
    }
}
