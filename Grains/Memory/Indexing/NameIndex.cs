using System.Buffers;

namespace Loom.Memory;

/// <summary>
/// Lorebook-style activation: a trie over the term sequences of entity names and aliases, scanned across a
/// text to find every entity it mentions. Matching on terms (not substrings) keeps "Al" from firing inside
/// "Alley"; CJK names are matched character by character because CJK text has no word breaks.
/// </summary>
internal sealed class NameIndex
{
    private const int MaxKeyTerms = 8;

    private sealed class Node
    {
        public Dictionary<string, Node>? Children;
        public List<string>? Ids;
    }

    private readonly Node _root = new();

    public readonly record struct Hit(int Count, int FirstPosition, int LastPosition);

    public void Add(string entityId, IEnumerable<string> names)
    {
        foreach (var terms in Keys(names))
        {
            var node = _root;
            foreach (var term in terms)
            {
                node.Children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
                if (!node.Children.TryGetValue(term, out var child)) node.Children[term] = child = new Node();
                node = child;
            }
            node.Ids ??= [];
            if (!node.Ids.Contains(entityId)) node.Ids.Add(entityId);
        }
    }

    public void Remove(string entityId, IEnumerable<string> names)
    {
        foreach (var terms in Keys(names))
        {
            var node = _root;
            foreach (var term in terms)
            {
                if (node.Children is null || !node.Children.TryGetValue(term, out node)) { node = null; break; }
            }
            node?.Ids?.Remove(entityId);
        }
    }

    [ThreadStatic] private static List<(int Start, int Length)>? t_terms;
    private const int MaxReusedTerms = 16_384;

    /// <summary>Every entity named in <paramref name="text"/>, with how often and where (term positions).</summary>
    public Dictionary<string, Hit> Scan(string text) => Scan([text]);

    /// <summary>
    /// Every entity named in <paramref name="texts"/> read as one text, each after a line break (a turn's recent story:
    /// inputs and narratives), with how often and where (term positions). Equal to scanning them joined.
    /// </summary>
    public Dictionary<string, Hit> Scan(IReadOnlyList<string> texts)
    {
        var hits = new Dictionary<string, Hit>(StringComparer.Ordinal);
        if (_root.Children is null || texts.Count == 0) return hits;
        var length = texts.Count - 1;
        foreach (var text in texts) length += text?.Length ?? 0;
        if (length <= 0) return hits;
        // One lower-cased copy of the texts in a pooled buffer; terms are ranges of it, looked up by span (no string per
        // word, and no joined or lower-cased string: the recent story is scanned on every turn).
        var buffer = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var at = 0;
            for (var t = 0; t < texts.Count; t++)
            {
                if (t > 0) buffer[at++] = '\n';
                at += (texts[t] ?? "").AsSpan().ToLowerInvariant(buffer.AsSpan(at));
            }
            ReadOnlySpan<char> lower = buffer.AsSpan(0, at);
            // Its term list (thousands of ranges) is reused per thread, not grown anew.
            var terms = t_terms ??= new List<(int Start, int Length)>(1024);
            terms.Clear();
            TextAnalyzer.KeywordTermRanges(lower, terms);
            for (var i = 0; i < terms.Count; i++)
            {
                var node = _root;
                for (var j = i; j < terms.Count && j < i + MaxKeyTerms; j++)
                {
                    if (node.Children is null) break;
                    var (start, termLength) = terms[j];
                    if (!node.Children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(lower.Slice(start, termLength), out node)) break;
                    if (node.Ids is not { Count: > 0 }) continue;
                    foreach (var id in node.Ids)
                    {
                        hits[id] = hits.TryGetValue(id, out var hit)
                            ? hit with { Count = hit.Count + 1, LastPosition = i }
                            : new Hit(1, i, i);
                    }
                }
            }
            if (terms.Capacity > MaxReusedTerms) t_terms = null; // a rare huge text does not stay pinned to the thread
            return hits;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static IEnumerable<List<string>> Keys(IEnumerable<string> names)
    {
        HashSet<string>? seen = null;
        List<string>? single = null;
        foreach (var name in names)
        {
            var terms = TextAnalyzer.KeywordTerms(name);
            if (terms.Count is 0 or > MaxKeyTerms) continue;
            if (terms.Count == 1)
            {
                // One CJK character or a one-letter or stop word would fire on almost any text.
                var only = terms[0];
                if (only.Length < 2 || TextAnalyzer.IsStopWord(only)) continue;
            }
            // Most entities have one name: only a second one needs the duplicate check.
            if (single is null && seen is null)
            {
                single = terms;
                yield return terms;
                continue;
            }
            seen ??= [string.Join('\u0001', single!)];
            if (seen.Add(string.Join('\u0001', terms))) yield return terms;
        }
    }
}
