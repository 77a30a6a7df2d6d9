using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Loom.Text;
using Loom.Prompt;
using Microsoft.Extensions.AI;

namespace Loom.Llm.Offline;

/// <summary>What the offline narrator says: the narrative and the memory block that follows it (may be empty).</summary>
internal sealed record OfflineAnswer(string Narrative, string MemoryBlock, DeterministicRandom Random)
{
    public string FullText => MemoryBlock.Length == 0 ? Narrative : Narrative + "\n\n" + MemoryBlock;
}

/// <summary>
/// Composes plausible second-person narration from sentence templates, the player's input and names found in
/// canon. Every choice comes from a random stream seeded by the messages, so equal prompts give equal answers.
/// </summary>
internal static partial class OfflineStoryteller
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // readable non-ASCII names; still valid JSON
    };

    private static readonly string[] Senses =
    [
        "the air smells of rain and old smoke",
        "a draught stirs the dust at your feet",
        "a bell counts the hour in the distance",
        "the light shifts, thin and grey",
        "your own heartbeat sounds too loud",
        "salt and iron hang in the air",
        "a floorboard creaks under a weight that is not yours",
        "the silence afterwards has a shape to it",
        "distant voices rise and fall like surf",
        "a cold thread of wind finds the back of your neck",
    ];

    private static readonly string[] Reactions =
    [
        "For a moment the {noun} seems to hold its breath, and {sense}.",
        "The {noun} answers in its own way: {sense}.",
        "Nothing about the {noun} is quite as you expected; {sense}.",
        "It takes longer than you would like, but the {noun} yields to your attention while {sense}.",
        "You feel the weight of the {noun} settle into the scene, and {sense}.",
    ];

    private static readonly string[] CharacterLines =
    [
        "{name} watches you from a careful distance, weighing what you have just done.",
        "{name} steps closer. “{quote}”",
        "A voice you half recognise, perhaps {name}'s, carries over the noise. “{quote}”",
        "You catch {name} looking away a heartbeat too late.",
        "{name} says nothing, but the set of their shoulders says enough.",
    ];

    private static readonly string[] PlaceLines =
    [
        "Somewhere beyond {place}, {sense}.",
        "You remember what they say about {place}: nothing there stays hidden for long.",
        "The road back toward {place} feels longer than it did this morning.",
        "From here you can almost see {place}, blurred at the edges like a half-remembered dream.",
    ];

    private static readonly string[] Quotes =
    [
        "You should not have touched that.",
        "So you came after all.",
        "Careful. Not everyone here is a friend.",
        "If you mean to do it, do it now.",
        "That changes things. I hope you know how much.",
        "Ask your questions quickly; we are not alone.",
    ];

    private static readonly string[] Closings =
    [
        "Whatever comes next, the {noun} has changed something, and you can feel the story lean toward you.",
        "The moment passes. What remains is the choice in front of you.",
        "You sense that this is only the first thread of something larger.",
        "For now the world waits, patient and watchful, for your next move.",
        "Somewhere a door you cannot see swings open.",
    ];

    public static OfflineAnswer Compose(IReadOnlyList<ChatMessage> messages)
    {
        var random = DeterministicRandom.FromTexts(messages.SelectMany(m => new[] { m.Role.Value, m.Text }));
        var systemText = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));

        if (systemText.TrimStart().StartsWith(NarratorFormat.SummarizeMarker, StringComparison.Ordinal))
        {
            var source = string.Join("\n\n", messages.Where(m => m.Role == ChatRole.User).Select(m => m.Text));
            return new OfflineAnswer(Summarise(source), "", random);
        }

        var input = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var action = PlayerAction.From(input);
        var names = CanonCues.ExtractNames(CanonCues.CanonText(systemText));
        var characters = names.Where(n => n.Kind == "character").ToList();
        var places = names.Where(n => n.Kind == "location").ToList();
        var items = names.Where(n => n.Kind == "item").ToList();

        var noun = action.KeyWords.Count > 0 ? action.KeyWords[random.Next(Math.Min(2, action.KeyWords.Count))] : "moment";
        var character = characters.Count > 0 ? random.Pick(characters) : null;
        var place = places.Count > 0 ? random.Pick(places) : null;
        var item = items.Count > 0 && random.Next(2) == 0 ? random.Pick(items) : null;

        // Templates are drawn without replacement so no sentence repeats within one answer.
        var used = new HashSet<string>(StringComparer.Ordinal);
        string Draw(string[] templates)
        {
            var fresh = templates.Where(t => !used.Contains(t)).ToList();
            var template = fresh.Count > 0 ? random.Pick(fresh) : random.Pick(templates);
            used.Add(template);
            return Fill(template, random, () => Draw(Senses), noun, character, place);
        }

        var paragraphs = new List<string> { action.Sentence + " " + Draw(Reactions) };

        var middle = random.Between(character is null && place is null ? 0 : 1, 2);
        for (var i = 0; i < middle; i++)
        {
            var sentences = new List<string>();
            if (character is not null && (i == 0 || random.Next(2) == 0))
            {
                sentences.Add(Draw(CharacterLines));
            }

            if (place is not null)
            {
                sentences.Add(Draw(PlaceLines));
            }

            if (item is not null && i == 0)
            {
                sentences.Add($"Your thoughts keep returning to the {item.Name}, and to who else might want it.");
            }

            if (sentences.Count == 0)
            {
                var sense = Draw(Senses);
                sentences.Add(char.ToUpperInvariant(sense[0]) + sense[1..] + ".");
            }

            paragraphs.Add(string.Join(" ", sentences));
        }

        paragraphs.Add(Draw(Closings));

        var narrative = string.Join("\n\n", paragraphs);
        var mentioned = new[] { character, place, item }
            .OfType<CanonName>()
            .Where(n => narrative.Contains(n.Name, StringComparison.Ordinal))
            .ToList();
        return new OfflineAnswer(narrative, MemoryBlock(action, narrative, mentioned, OocAnswer(systemText)), random);
    }

    /// <summary>Extractive: the first sentence of each paragraph, up to five sentences and 600 characters.</summary>
    internal static string Summarise(string text)
    {
        var picked = new List<string>();
        var length = 0;
        foreach (var paragraph in Regex.Split(text.Trim(), @"\n\s*\n"))
        {
            var clean = Regex.Replace(paragraph, @"\s+", " ").Trim();
            if (clean.Length == 0 || clean.StartsWith(NarratorFormat.MemoryFence, StringComparison.Ordinal))
            {
                continue;
            }

            var end = SentenceEnd().Match(clean);
            var sentence = end.Success ? clean[..(end.Index + end.Length)] : clean;
            if (picked.Count == 5 || length + sentence.Length > 600)
            {
                break;
            }

            picked.Add(sentence);
            length += sentence.Length + 1;
        }

        return picked.Count > 0 ? string.Join(" ", picked) : "Nothing of note happened.";
    }

    private static string Fill(string template, DeterministicRandom random, Func<string> sense, string noun, CanonName? character, CanonName? place) =>
        template
            .Replace("{noun}", noun, StringComparison.Ordinal)
            .Replace("{sense}", template.Contains("{sense}", StringComparison.Ordinal) ? sense() : "", StringComparison.Ordinal)
            .Replace("{quote}", random.Pick(Quotes), StringComparison.Ordinal)
            .Replace("{name}", character?.Name ?? "A stranger", StringComparison.Ordinal)
            .Replace("{place}", place?.Name ?? "the edge of town", StringComparison.Ordinal);

    /// <summary>An event for the turn plus an upsert for each canon name the narration used.</summary>
    /// <summary>An out-of-character acknowledgement when the context carries the player's OOC notes, else null.</summary>
    internal static string? OocAnswer(string systemText)
    {
        var heading = "## " + NarratorFormat.OutOfCharacterHeading + "\n";
        var start = systemText.IndexOf(heading, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += heading.Length;
        var end = systemText.IndexOf("\n\n## ", start, StringComparison.Ordinal);
        var notes = (end < 0 ? systemText[start..] : systemText[start..end]).Trim();
        return notes.Length == 0 ? null : $"(Out of character) Noted: \"{Truncate(notes.ReplaceLineEndings(" "), 200)}\". The story continues.";
    }

    private static string MemoryBlock(PlayerAction action, string narrative, IReadOnlyList<CanonName> mentioned, string? ooc)
    {
        var ops = new List<Dictionary<string, object>>
        {
            new()
            {
                ["op"] = "upsert",
                ["type"] = "event",
                ["name"] = Truncate(action.Sentence.TrimEnd('.', ' '), 80),
                ["content"] = Truncate(FirstSentences(narrative, 2), 400),
                ["attributes"] = new Dictionary<string, string> { ["keywords"] = string.Join(", ", action.KeyWords) },
            },
        };

        foreach (var name in mentioned)
        {
            ops.Add(new()
            {
                ["op"] = "upsert",
                ["type"] = name.Kind,
                ["name"] = name.Name,
                ["content"] = Truncate(SentenceMentioning(narrative, name.Name), 300),
                ["attributes"] = new Dictionary<string, string> { ["lastScene"] = Truncate(action.Clause, 80) },
            });
        }

        var block = new Dictionary<string, object> { ["ops"] = ops };
        if (ooc is not null)
        {
            block["ooc"] = ooc;
        }

        var json = JsonSerializer.Serialize(block, Json);
        return $"{NarratorFormat.MemoryFence}\n{json}\n{NarratorFormat.FenceEnd}";
    }

    private static string FirstSentences(string text, int count)
    {
        var builder = new StringBuilder();
        var rest = Regex.Replace(text, @"\s+", " ").Trim();
        for (var i = 0; i < count && rest.Length > 0; i++)
        {
            var end = SentenceEnd().Match(rest);
            var sentence = end.Success ? rest[..(end.Index + end.Length)] : rest;
            builder.Append(builder.Length > 0 ? " " : "").Append(sentence.Trim());
            rest = rest[sentence.Length..].Trim();
        }

        return builder.ToString();
    }

    private static string SentenceMentioning(string text, string name)
    {
        foreach (var sentence in SentenceSplit().Split(Regex.Replace(text, @"\s+", " ")))
        {
            if (sentence.Contains(name, StringComparison.Ordinal))
            {
                return sentence.Trim();
            }
        }

        return name;
    }

    private static string Truncate(string text, int max) => TextClip.Ellipsize(text, max, atWord: false);

    [GeneratedRegex(@"[.!?](?=\s|$)|[.!?]”(?=\s|$)|[。！？]")]
    private static partial Regex SentenceEnd();

    [GeneratedRegex(@"(?<=[.!?”。！？])\s+")]
    private static partial Regex SentenceSplit();
}
