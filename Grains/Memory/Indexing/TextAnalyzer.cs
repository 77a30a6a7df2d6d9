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

    public static bool IsStopWord(string word) => StopWords.Contains(word);

    /// <summary>Terms for name matching: every word (lower case) and every CJK character, in order.</summary>
    public static List<string> KeywordTerms(string text)
    {
        var terms = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (IsCjk(c))
            {
                terms.Add(CharString(c));
                i++;
            }
            else if (IsWordChar(c))
            {
                var start = i;
                while (i < text.Length && (IsWordChar(text[i]) || char.GetUnicodeCategory(text[i]) is System.Globalization.UnicodeCategory.NonSpacingMark)) i++;
                terms.Add(text.AsSpan(start, i - start).ToString().ToLowerInvariant());
            }
            else
            {
                i++;
            }
        }
        return terms;
    }

    /// <summary>Terms for BM25: stemmed words without stop words, CJK bigrams (a lone CJK character stays a unigram).</summary>
    public static void IndexTerms(string text, List<string> into)
    {
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (IsCjk(c))
            {
                var start = i;
                while (i < text.Length && IsCjk(text[i])) i++;
                if (i - start == 1) into.Add(CharString(c));
                else
                    for (var k = start; k < i - 1; k++) into.Add(text.Substring(k, 2));
            }
            else if (IsWordChar(c))
            {
                var start = i;
                while (i < text.Length && IsWordChar(text[i])) i++;
                var word = text.AsSpan(start, i - start).ToString().ToLowerInvariant();
                if (word.Length > 1 && !StopWords.Contains(word)) into.Add(Stem(word));
            }
            else
            {
                i++;
            }
        }
    }

    /// <summary>Plural folding only: enough for "keys"/"key", too little to merge unrelated words.</summary>
    public static string Stem(string word)
    {
        if (word.Length > 4 && word.EndsWith("ies", StringComparison.Ordinal)) return word[..^3] + "y";
        if (word.Length > 4 && (word.EndsWith("sses", StringComparison.Ordinal) || word.EndsWith("xes", StringComparison.Ordinal)
                                || word.EndsWith("ches", StringComparison.Ordinal) || word.EndsWith("shes", StringComparison.Ordinal)))
            return word[..^2];
        if (word.Length > 3 && word[^1] == 's' && word[^2] is not ('s' or 'u' or 'i') && !char.IsDigit(word[^2]))
            return word[..^1];
        return word;
    }

    private static readonly string[] AsciiChars = Enumerable.Range(0, 128).Select(c => ((char)c).ToString()).ToArray();

    private static string CharString(char c) => c < 128 ? AsciiChars[c] : c.ToString();
}
