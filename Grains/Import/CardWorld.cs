using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Loom.Lore;
using YamlDotNet.Serialization;

namespace Loom.Import;

/// <summary>What an imported file becomes: the files of a world version and which of a world's files they replace.</summary>
public sealed record ImportedWorld
{
    /// <summary><c>card</c> or <c>lorebook</c>.</summary>
    public required string Kind { get; init; }
    public required string Title { get; init; }
    public required Dictionary<string, string> Files { get; init; }
    /// <summary>When added to an existing world: its files these replace (a card replaces the world text too).</summary>
    public required Func<string, bool> Replaces { get; init; }
    public int LoreEntries { get; init; }
    public int Greetings { get; init; }
}

/// <summary>
/// Maps character cards and lorebooks to world files and back. Card text fields become canon sections of
/// <c>world.md</c> (verbatim), greetings <c>card/greeting-N.md</c>, book entries <c>lore/NNN-name.md</c>, and the card's
/// JSON (everything else, extensions included) <c>card/card.md</c>; the image, when small enough, <c>card/avatar.md</c>.
/// </summary>
public static partial class CardWorld
{
    public const string WorldFile = "world.md";
    public const string CardFile = "card/card.md";
    public const string BookFile = "card/lorebook.md";
    public const string AvatarFile = "card/avatar.md";
    public const string GreetingPrefix = "card/greeting-";
    /// <summary>Images above this stay out of the world (a canon file holds at most 1 MiB of text).</summary>
    public const int MaxAvatarBytes = 700 * 1024;

    /// <summary>Canon section per card text field, in file order. World and Tone are required by the canon.</summary>
    internal static readonly (string Section, string Field)[] TextFields =
    [
        ("World", "description"),
        ("Tone", "personality"),
        ("Scenario", "scenario"),
        ("Example dialogue", "mes_example"),
        ("Instructions", "system_prompt"),
        ("Post-history instructions", "post_history_instructions"),
    ];

    /// <summary>Stands in for an empty required field (read back as empty on export).</summary>
    internal static string Placeholder(string section) => $"(The card gives no {section.ToLowerInvariant()}.)";

    /// <summary>Detects the format and maps it to world files; bad input is a 4xx problem.</summary>
    public static ImportedWorld Import(byte[] data)
    {
        if (data.Length == 0) throw ImportProblems.NotACard("The file is empty.");
        if (data.Length > ImportProblems.MaxFileBytes) throw ImportProblems.TooLarge($"The file is larger than {ImportProblems.MaxFileBytes} bytes.");
        byte[]? image = null;
        string json;
        if (PngCard.LooksLikePng(data))
        {
            (json, image) = PngCard.Read(data);
        }
        else if (CharxArchive.LooksLikeZip(data))
        {
            var (bytes, png) = CharxArchive.Read(data);
            json = Utf8(bytes, "card.json");
            image = png;
        }
        else
        {
            var start = data.AsSpan().TrimStart(" \t\r\n\uFEFF"u8);
            if (start.Length == 0 || start[0] != (byte)'{')
                throw ImportProblems.NotACard("The file is not a character card or lorebook: expected a PNG card, a CHARX zip or JSON.");
            if (data.Length > ImportProblems.MaxJsonBytes) throw ImportProblems.TooLarge($"Card JSON may be at most {ImportProblems.MaxJsonBytes} bytes.");
            json = Utf8(data, "file");
        }

        if (JsonValues.Parse(json.TrimStart('\uFEFF'), "card or lorebook") is not JsonObject root)
            throw ImportProblems.NotACard("The JSON is not an object, so it is neither a character card nor a lorebook.");
        return Classify(root) switch
        {
            "card" => FromCard(root, image),
            "lorebook" => FromLorebook(root),
            _ => throw ImportProblems.NotACard(
                "The JSON is neither a character card (spec chara_card_v2/v3, or name + first_mes) nor a lorebook (entries)."),
        };
    }

    private static string Classify(JsonObject root) => root.Str("spec") switch
    {
        "chara_card_v2" or "chara_card_v3" => "card",
        "lorebook_v3" => "lorebook",
        _ when root["entries"] is JsonObject or JsonArray => "lorebook",
        _ when root.Str("name") is not null && (root["first_mes"] is not null || root["description"] is not null) => "card",
        _ => "",
    };

    private static ImportedWorld FromCard(JsonObject root, byte[]? image)
    {
        // V1 cards are flat; V2/V3 wrap the fields in data.
        var data = root.Str("spec") is null ? root : root["data"] as JsonObject
            ?? throw ImportProblems.Invalid("invalid_card", "The card has a spec but no 'data' object.");
        var name = data.Str("name") is { Length: > 0 } n ? n : throw ImportProblems.Invalid("invalid_card", "The card has no name.");
        var files = new Dictionary<string, string>(StringComparer.Ordinal) { [WorldFile] = WorldMarkdown(data) };

        var greetings = Greetings(data);
        for (var i = 0; i < greetings.Count; i++) files[$"{GreetingPrefix}{i}.md"] = greetings[i];

        var book = data["character_book"] as JsonObject;
        var entries = LoreFilesOf(book?["entries"], LorebookDialect.Card);
        foreach (var (file, text) in entries) files[file] = text;

        var kept = (JsonObject)root.DeepClone();
        if ((kept.Str("spec") is null ? kept : kept.Obj("data"))["character_book"] is JsonObject keptBook) keptBook["entries"] = new JsonArray();
        files[CardFile] = JsonFile("The character card this world was imported from (its book entries are the lore/ files).", kept);
        if (image is { Length: > 0 and <= MaxAvatarBytes }) files[AvatarFile] = "data:image/png;base64," + Convert.ToBase64String(image) + "\n";

        return new ImportedWorld
        {
            Kind = "card",
            Title = name,
            Files = files,
            Replaces = f => f == WorldFile || f.StartsWith("card/", StringComparison.Ordinal) || LoreFiles.IsLoreFile(f),
            LoreEntries = entries.Count,
            Greetings = greetings.Count,
        };
    }

    private static ImportedWorld FromLorebook(JsonObject root)
    {
        var book = root.Str("spec") == "lorebook_v3" ? root.Obj("data") : root;
        var dialect = book["entries"] is JsonObject ? LorebookDialect.WorldInfo : LorebookDialect.Card;
        var entries = LoreFilesOf(book["entries"], dialect);
        var title = book.Str("name") is { Length: > 0 } n ? n : "Imported lorebook";
        var kept = (JsonObject)root.DeepClone();
        (kept.Str("spec") == "lorebook_v3" ? kept.Obj("data") : kept)["entries"] = dialect == LorebookDialect.WorldInfo ? new JsonObject() : new JsonArray();
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [WorldFile] = LorebookWorldMarkdown(title, book),
            [BookFile] = JsonFile("The lorebook this world's lore was imported from (its entries are the lore/ files).", kept),
        };
        foreach (var (file, text) in entries) files[file] = text;
        return new ImportedWorld
        {
            Kind = "lorebook",
            Title = title,
            Files = files,
            // Added to a world, a lorebook replaces only the lore; the world's own text stays.
            Replaces = f => f == BookFile || LoreFiles.IsLoreFile(f),
            LoreEntries = entries.Count,
        };
    }

    private static List<(string File, string Text)> LoreFilesOf(JsonNode? entries, LorebookDialect dialect)
    {
        var items = entries switch
        {
            JsonArray a => a.OfType<JsonObject>().ToList(),
            // World Info keys entries by uid; keep the order SillyTavern shows (displayIndex, then uid).
            JsonObject o => o.Select(p => p.Value).OfType<JsonObject>()
                .OrderBy(e => e.Int("displayIndex") ?? e.Int("uid") ?? 0).ThenBy(e => e.Int("uid") ?? 0).ToList(),
            _ => [],
        };
        if (items.Count > Canon.CanonLimits.MaxLoreFiles)
            throw ImportProblems.TooLarge($"The lorebook has {items.Count} entries; at most {Canon.CanonLimits.MaxLoreFiles} are accepted.");
        var result = new List<(string, string)>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var probe = dialect.Read(items[i], "lore/x.md");
            var slug = Slug(probe.Name.Length > 0 ? probe.Name : probe.Keys.FirstOrDefault()?.Text ?? "", 40);
            var file = $"{LoreFiles.Folder}{i:D3}-{(slug.Length > 0 ? slug : "entry")}.md";
            result.Add((file, LoreFiles.Write(dialect.Import(items[i], file))));
        }
        return result;
    }

    internal static List<string> Greetings(JsonObject data)
    {
        var list = new List<string>();
        if (data.Str("first_mes") is { Length: > 0 } first) list.Add(first);
        list.AddRange(data.Strings("alternate_greetings").Where(g => g.Length > 0));
        return list;
    }

    internal static string WorldMarkdown(JsonObject data)
    {
        var front = new Dictionary<string, object>(StringComparer.Ordinal) { ["title"] = data.Str("name") ?? "" };
        if (data.Str("creator") is { Length: > 0 } creator) front["author"] = creator;
        if (data.Str("character_version") is { Length: > 0 } version) front["version"] = version;
        if (data["character_book"] is JsonObject book) AddBookSettings(front, book);
        var text = new StringBuilder("---\n").Append(new SerializerBuilder().Build().Serialize(front)).Append("---\n");
        foreach (var (section, field) in TextFields)
        {
            var value = data.Str(field)?.Trim('\n') ?? "";
            var required = section is "World" or "Tone";
            if (value.Trim().Length == 0 && !required) continue;
            text.Append("# ").Append(section).Append('\n').Append(value.Trim().Length == 0 ? Placeholder(section) : value).Append("\n\n");
        }
        return text.ToString().TrimEnd('\n') + "\n";
    }

    private static string LorebookWorldMarkdown(string title, JsonObject book)
    {
        var front = new Dictionary<string, object>(StringComparer.Ordinal) { ["title"] = title };
        AddBookSettings(front, book);
        var description = book.Str("description") is { Length: > 0 } d ? d : Placeholder("World");
        return $"---\n{new SerializerBuilder().Build().Serialize(front)}---\n# World\n{description}\n\n# Tone\n{Placeholder("Tone")}\n";
    }

    /// <summary>Book-wide settings become the world's lore settings (canon metadata).</summary>
    private static void AddBookSettings(Dictionary<string, object> front, JsonObject book)
    {
        if (book.Int("scan_depth") is { } scan) front["loreScanDepth"] = Math.Clamp(scan, 0, LoreFiles.MaxScanDepth);
        if (book.Int("token_budget") is { } budget and > 0) front["loreTokens"] = budget;
        if (book.Bool("recursive_scanning") is false) front["loreRecursionDepth"] = 0;
    }

    internal static string JsonFile(string comment, JsonNode json) =>
        $"<!-- {comment} -->\n```json\n{json.ToJsonString(JsonValues.Indented)}\n```\n";

    internal static JsonObject? ReadJsonFile(string? text)
    {
        if (text is null) return null;
        var start = text.IndexOf("```json\n", StringComparison.Ordinal);
        var end = text.LastIndexOf("\n```", StringComparison.Ordinal);
        if (start < 0 || end <= start) return null;
        try
        {
            return JsonNode.Parse(text[(start + 8)..end], documentOptions: JsonValues.DocumentOptions) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static string Slug(string text, int max)
    {
        var slug = NonSlug().Replace(text.ToLowerInvariant(), "-").Trim('-');
        return slug.Length > max ? slug[..max].TrimEnd('-') : slug;
    }

    private static string Utf8(byte[] bytes, string what)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw ImportProblems.Invalid("invalid_json", $"The {what} is not UTF-8 text.");
        }
    }

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonSlug();
}
