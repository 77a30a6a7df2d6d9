using System.Text;
using System.Text.RegularExpressions;

namespace Loom.Llm.Offline;

/// <summary>The player's input restated in the second person, plus the nouns worth echoing back.</summary>
internal sealed partial record PlayerAction(string Sentence, string Clause, IReadOnlyList<string> KeyWords, bool IsQuestion)
{
    private static readonly Dictionary<string, string> SecondPerson = new(StringComparer.OrdinalIgnoreCase)
    {
        ["i"] = "you", ["me"] = "you", ["my"] = "your", ["mine"] = "yours", ["myself"] = "yourself",
        ["i'm"] = "you're", ["i've"] = "you've", ["i'll"] = "you'll", ["i'd"] = "you'd", ["am"] = "are",
        ["we"] = "you", ["us"] = "you", ["our"] = "your", ["ours"] = "yours", ["ourselves"] = "yourselves",
        ["we're"] = "you're", ["we've"] = "you've", ["we'll"] = "you'll",
    };

    private static readonly HashSet<string> Stop = new(StringComparer.OrdinalIgnoreCase)
    {
        "the", "and", "then", "that", "this", "with", "from", "into", "onto", "over", "under", "about", "there",
        "their", "them", "they", "what", "when", "where", "which", "while", "your", "yours", "you're", "have",
        "will", "would", "could", "should", "just", "very", "really", "some", "something", "anything", "around",
        "again", "still", "maybe", "perhaps", "want", "try", "tries", "going", "myself", "here", "through",
        "toward", "towards", "before", "after", "been", "were", "does", "didn't", "don't", "can't", "slowly",
        "quickly", "carefully", "quietly", "back", "down", "away", "look", "looks", "take", "make", "tell", "says",
    };

    private static readonly HashSet<string> Determiners = new(StringComparer.OrdinalIgnoreCase)
    {
        "the", "a", "an", "this", "that", "these", "those", "it", "he", "she", "they", "there", "his", "her",
    };

    public static PlayerAction From(string input)
    {
        var text = Regex.Replace(input, @"\s+", " ").Trim();
        var first = FirstSentence(text);
        var isQuestion = first.EndsWith('?');
        var core = first.TrimEnd('.', '!', '?', ' ');
        // Objects tend to come last in an action ("search the crates for the ledger"), and the first word after
        // the subject is usually the verb, so key words are read from the end and skip that verb.
        var words = Words().Matches(core).Select(m => m.Value).ToList();
        var verbAt = words.Count > 1 && SecondPerson.ContainsKey(words[0]) ? 1 : 0;
        var keyWords = words
            .Skip(words.Count > verbAt + 1 ? verbAt + 1 : 0)
            .Select(w => w.ToLowerInvariant())
            .Where(w => w.Length >= 4 && !Stop.Contains(w) && !SecondPerson.ContainsKey(w))
            .Reverse()
            .Distinct(StringComparer.Ordinal)
            .Take(3)
            .ToList();

        if (core.Length == 0)
        {
            return new PlayerAction("You hesitate, and the moment stretches.", "hesitate", keyWords, false);
        }

        if (!Words().IsMatch(core))
        {
            // Not Latin-script text (e.g. Chinese): echo it rather than attempt grammar.
            return new PlayerAction($"You act on your intent: “{core}”.", $"act on “{core}”", keyWords, isQuestion);
        }

        var restated = ToSecondPerson(core);
        var firstWord = Words().Match(core).Value;

        if (isQuestion || core.StartsWith('"') || core.StartsWith('“'))
        {
            var spoken = restated.Trim('"', '“', '”');
            var verb = isQuestion ? "ask" : "say";
            return new PlayerAction($"You {verb}, “{Capitalise(spoken)}{(isQuestion ? "?" : ".")}”", $"{verb} about it", keyWords, isQuestion);
        }

        if (SecondPerson.ContainsKey(firstWord))
        {
            // "I open the door" -> "You open the door"; the clause drops the subject for "when you ..." phrases.
            var clause = restated[(restated.IndexOf(' ') + 1)..];
            return new PlayerAction(Capitalise(restated) + ".", clause, keyWords, false);
        }

        if (Determiners.Contains(firstWord))
        {
            return new PlayerAction($"You take it in: {LowerFirst(restated)}.", "take it in", keyWords, false);
        }

        // Imperative input ("open the door") reads as the player's own action.
        return new PlayerAction($"You {LowerFirst(restated)}.", LowerFirst(restated), keyWords, false);
    }

    private static string FirstSentence(string text)
    {
        var match = SentenceEnd().Match(text);
        var sentence = match.Success ? text[..(match.Index + 1)] : text;
        return sentence.Length > 160 ? sentence[..160].TrimEnd() : sentence;
    }

    private static string ToSecondPerson(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        var last = 0;
        foreach (Match word in Words().Matches(text))
        {
            builder.Append(text, last, word.Index - last);
            builder.Append(SecondPerson.TryGetValue(word.Value, out var replacement) ? replacement : word.Value);
            last = word.Index + word.Length;
        }

        builder.Append(text, last, text.Length - last);
        return builder.ToString();
    }

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string LowerFirst(string text) =>
        text.Length > 1 && char.IsUpper(text[0]) && !char.IsUpper(text[1]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;

    [GeneratedRegex(@"[A-Za-z][A-Za-z'’]*")]
    private static partial Regex Words();

    [GeneratedRegex(@"[.!?](?=\s|$)")]
    private static partial Regex SentenceEnd();
}
