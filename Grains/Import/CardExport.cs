using System.Text;
using System.Text.Json.Nodes;
using Loom.Canon;
using Loom.Lore;
using Loom.Worlds;

namespace Loom.Import;

/// <summary>
/// A world as a character card (V3, V2, PNG with both chunks) or a World Info lorebook. For an imported world the
/// kept card or book is the base, so fields LOOM does not model come back unchanged; what the author edited since
/// (canon sections, greetings, lore) is written over it.
/// </summary>
public static class CardExport
{
    public static readonly IReadOnlyList<string> Formats = ["card-v3", "card-v2", "png", "lorebook"];

    public static ExportedFile Export(CanonVersion canon, string format)
    {
        var files = canon.Files ?? [];
        var slug = CardWorld.Slug(canon.Title, 60) is { Length: > 0 } s ? s : canon.WorldId;
        switch (format)
        {
            case "card-v3":
                return Json(Card(canon, files, v3: true), $"{slug}.card-v3.json");
            case "card-v2":
                return Json(Card(canon, files, v3: false), $"{slug}.card-v2.json");
            case "png":
                var image = files.TryGetValue(CardWorld.AvatarFile, out var avatar) ? Avatar(avatar) : null;
                var png = PngCard.Write(image,
                    Card(canon, files, v3: false).ToJsonString(),
                    Card(canon, files, v3: true).ToJsonString());
                return new ExportedFile { Content = png, ContentType = "image/png", FileName = $"{slug}.png" };
            case "lorebook":
                return Json(Lorebook(canon, files), $"{slug}.lorebook.json");
            default:
                throw Errors.Problems.Invalid("format", $"format must be one of {string.Join(", ", Formats)}.");
        }
    }

    private static ExportedFile Json(JsonNode json, string name) => new()
    {
        Content = Encoding.UTF8.GetBytes(json.ToJsonString(JsonValues.Indented)),
        ContentType = "application/json",
        FileName = name,
    };

    private static JsonObject Card(CanonVersion canon, IReadOnlyDictionary<string, string> files, bool v3)
    {
        var kept = CardWorld.ReadJsonFile(files.GetValueOrDefault(CardWorld.CardFile));
        var keptSpec = kept?.Str("spec");
        var original = kept is null ? null : keptSpec is null ? kept : kept.Obj("data");
        var data = (JsonObject?)original?.DeepClone() ?? new JsonObject { ["name"] = canon.Title };

        if (original is not null && files.GetValueOrDefault(CardWorld.WorldFile) == CanonText.NormalizeNewlines(CardWorld.WorldMarkdown(original)))
        {
            // The world text is as imported: the card's own fields stand.
        }
        else if (original is not null)
        {
            foreach (var (section, field) in CardWorld.TextFields)
                data[field] = SectionBody(canon, section) is { } body && body != CardWorld.Placeholder(section) ? body : "";
        }
        else
        {
            // A world that never was a card: its whole canon, verbatim, is the description.
            data["description"] = string.Join("\n\n", files.Where(f => CanonParser.IsCanonText(f.Key)).OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Value.Trim('\n')));
            if (canon.Metadata.GetValueOrDefault("author") is { Length: > 0 } author) data["creator"] = author;
        }

        var greetings = Greetings.Of(files);
        if (original is null || !greetings.SequenceEqual(CardWorld.Greetings(original).Select(g => CanonText.NormalizeNewlines(g).Trim('\n')), StringComparer.Ordinal))
        {
            data["first_mes"] = greetings.FirstOrDefault() ?? "";
            data["alternate_greetings"] = new JsonArray(greetings.Skip(1).Select(g => (JsonNode?)JsonValue.Create(g)).ToArray());
        }

        var lore = LoreBook.From(files, canon.Metadata).Entries;
        if (lore.Count > 0 || data["character_book"] is JsonObject)
        {
            var book = data["character_book"] as JsonObject ?? new JsonObject { ["name"] = canon.Title, ["extensions"] = new JsonObject() };
            book["entries"] = new JsonArray(lore.Select(e => (JsonNode?)LorebookDialect.Card.Export(e)).ToArray());
            data["character_book"] = book;
        }

        var spec = v3 ? "chara_card_v3" : "chara_card_v2";
        if (kept is not null && keptSpec == spec)
        {
            var root = (JsonObject)kept.DeepClone();
            root["data"] = data;
            return root;
        }
        return new JsonObject { ["spec"] = spec, ["spec_version"] = v3 ? "3.0" : "2.0", ["data"] = data };
    }

    private static JsonObject Lorebook(CanonVersion canon, IReadOnlyDictionary<string, string> files)
    {
        var lore = LoreBook.From(files, canon.Metadata).Entries;
        var kept = CardWorld.ReadJsonFile(files.GetValueOrDefault(CardWorld.BookFile));
        if (kept is not null && (kept.Str("spec") == "lorebook_v3" || kept["entries"] is JsonArray))
        {
            var target = kept.Str("spec") == "lorebook_v3" ? kept.Obj("data") : kept;
            target["entries"] = new JsonArray(lore.Select(e => (JsonNode?)LorebookDialect.Card.Export(e)).ToArray());
            return kept;
        }

        // SillyTavern World Info: entries keyed by uid (kept from the import where there was one).
        var book = kept ?? new JsonObject();
        var entries = new JsonObject();
        var used = new HashSet<int>();
        var exported = lore.Select(e => LorebookDialect.WorldInfo.Export(e)).ToList();
        foreach (var entry in exported)
            if (entry.Int("uid") is { } uid && entry["content"] is not null) used.Add(uid);
        var next = 0;
        var seen = new HashSet<int>();
        foreach (var entry in exported)
        {
            if (entry.Int("uid") is not { } uid || !seen.Add(uid))
            {
                while (used.Contains(next) || seen.Contains(next)) next++;
                uid = next;
                seen.Add(uid);
                entry["uid"] = uid;
            }
            entries[uid.ToString(System.Globalization.CultureInfo.InvariantCulture)] = entry;
        }
        book["entries"] = entries;
        return book;
    }

    internal static string? SectionBody(CanonVersion canon, string name)
    {
        var section = canon.Sections.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        if (section is null) return null;
        var newline = section.Content.IndexOf('\n');
        return newline < 0 ? "" : section.Content[(newline + 1)..].Trim('\n');
    }

    private static byte[]? Avatar(string text)
    {
        const string prefix = "data:image/png;base64,";
        var trimmed = text.Trim();
        if (!trimmed.StartsWith(prefix, StringComparison.Ordinal)) return null;
        try
        {
            return Convert.FromBase64String(trimmed[prefix.Length..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
