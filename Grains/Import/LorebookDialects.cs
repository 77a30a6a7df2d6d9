using System.Text.Json.Nodes;
using Loom.Lore;

namespace Loom.Import;

/// <summary>
/// Lore entries in the two JSON shapes they travel in: a card's <c>character_book</c> (V2/V3 spec, SillyTavern's
/// settings under <c>extensions</c>) and SillyTavern's World Info file (<c>entries</c> keyed by uid). An imported entry
/// keeps its original JSON in <see cref="LoreEntry.Extra"/>; export returns that JSON untouched when the entry was
/// not edited, so nothing LOOM does not model is lost.
/// </summary>
public abstract class LorebookDialect
{
    public static readonly LorebookDialect Card = new CardBookDialect();
    public static readonly LorebookDialect WorldInfo = new WorldInfoDialect();

    /// <summary>The tag under which <see cref="LoreEntry.Extra"/> keeps the original JSON.</summary>
    public abstract string Tag { get; }

    public abstract LoreEntry Read(JsonObject json, string id);

    /// <summary>Writes every setting LOOM models onto <paramref name="json"/>.</summary>
    protected abstract void WriteSettings(JsonObject json, LoreEntry entry);

    public JsonObject Export(LoreEntry entry)
    {
        if (Original(entry) is { } original)
        {
            // Unchanged since import: the original, byte for byte in meaning.
            var asImported = Read(original, entry.Id) with { Extra = entry.Extra };
            if (Canon.CanonText.NormalizeNewlines(LoreFiles.Write(asImported)) == LoreFiles.Write(entry)) return original;
            WriteSettings(original, entry);
            return original;
        }
        var fresh = new JsonObject();
        WriteSettings(fresh, entry);
        return fresh;
    }

    public LoreEntry Import(JsonObject json, string id) =>
        Read(json, id) with { Extra = new JsonObject { [Tag] = json.DeepClone() }.ToJsonString() };

    private JsonObject? Original(LoreEntry entry)
    {
        if (string.IsNullOrEmpty(entry.Extra)) return null;
        try
        {
            return JsonNode.Parse(entry.Extra) is JsonObject o && o[Tag] is JsonObject original ? (JsonObject)original.DeepClone() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    protected static List<LoreKey> Keys(IEnumerable<string> texts, bool regex) =>
        texts.Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => regex && !t.StartsWith('/') ? $"/{t}/" : t)
            .Select(t => LoreKey.TryParse(t, out _) ?? LoreKey.TryParse(t.Trim('/'), out _)!)
            .ToList();

    protected static JsonArray Array(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());

    // SillyTavern's numbers for logic, position and role.
    protected static LoreLogic LogicOf(int? n) => n switch { 1 => LoreLogic.NotAll, 2 => LoreLogic.NotAny, 3 => LoreLogic.AndAll, _ => LoreLogic.AndAny };
    protected static int LogicNumber(LoreLogic l) => l switch { LoreLogic.NotAll => 1, LoreLogic.NotAny => 2, LoreLogic.AndAll => 3, _ => 0 };
    /// <summary>0 before the character, 1 after it, 4 at depth; author's-note and example positions (2, 3, 5, 6) land after the canon.</summary>
    protected static LorePosition PositionOf(int? n) => n switch { 0 => LorePosition.BeforeCanon, 4 => LorePosition.AtDepth, _ => LorePosition.AfterCanon };
    protected static int PositionNumber(LorePosition p) => p switch { LorePosition.BeforeCanon => 0, LorePosition.AtDepth => 4, _ => 1 };
    protected static LoreRole RoleOf(int? n) => n switch { 1 => LoreRole.User, 2 => LoreRole.Assistant, _ => LoreRole.System };

    private sealed class CardBookDialect : LorebookDialect
    {
        public override string Tag => "card";

        public override LoreEntry Read(JsonObject json, string id)
        {
            var ext = json.Obj("extensions");
            var selective = json.Bool("selective") ?? false;
            var extPosition = ext.Int("position");
            var position = extPosition is not null ? PositionOf(extPosition)
                : json.Str("position") == "before_char" ? LorePosition.BeforeCanon : LorePosition.AfterCanon;
            var useProbability = ext.Bool("useProbability") ?? true;
            return new LoreEntry
            {
                Id = id,
                Name = json.Str("comment") is { Length: > 0 } comment ? comment : json.Str("name") ?? "",
                Content = json.Str("content") ?? "",
                Keys = Keys(json.Strings("keys"), json.Bool("use_regex") ?? false),
                SecondaryKeys = selective ? Keys(json.Strings("secondary_keys"), json.Bool("use_regex") ?? false) : [],
                Logic = LogicOf(ext.Int("selectiveLogic")),
                Enabled = json.Bool("enabled") ?? true,
                Constant = json.Bool("constant") ?? false,
                Probability = useProbability ? Math.Clamp(ext.Int("probability") ?? 100, 0, 100) : 100,
                Order = Math.Clamp(json.Int("insertion_order") ?? 100, -100_000, 100_000),
                Position = position,
                Depth = Math.Clamp(ext.Int("depth") ?? 4, 0, LoreFiles.MaxDepth),
                Role = RoleOf(ext.Int("role")),
                ScanDepth = ext.Int("scan_depth") is { } s ? Math.Clamp(s, 0, LoreFiles.MaxScanDepth) : null,
                CaseSensitive = json.Bool("case_sensitive") ?? ext.Bool("case_sensitive") ?? false,
                WholeWords = ext.Bool("match_whole_words") ?? false,
                Sticky = Math.Clamp(ext.Int("sticky") ?? 0, 0, LoreFiles.MaxTimedTurns / 2),
                Cooldown = Math.Clamp(ext.Int("cooldown") ?? 0, 0, LoreFiles.MaxTimedTurns / 2),
                Delay = Math.Clamp(ext.Int("delay") ?? 0, 0, 100_000),
                ExcludeRecursion = ext.Bool("exclude_recursion") ?? false,
                PreventRecursion = ext.Bool("prevent_recursion") ?? false,
                Groups = ext.Strings("group"),
                GroupWeight = Math.Clamp(ext.Int("group_weight") ?? 100, 1, 1_000_000),
            };
        }

        protected override void WriteSettings(JsonObject json, LoreEntry e)
        {
            json["keys"] = Array(e.Keys.Select(k => k.Text));
            json["secondary_keys"] = Array(e.SecondaryKeys.Select(k => k.Text));
            json["selective"] = e.SecondaryKeys.Count > 0;
            json["content"] = e.Content;
            json["enabled"] = e.Enabled;
            json["constant"] = e.Constant;
            json["insertion_order"] = e.Order;
            json["case_sensitive"] = e.CaseSensitive;
            json["comment"] = e.Name;
            json["position"] = e.Position == LorePosition.BeforeCanon ? "before_char" : "after_char";
            if (json["use_regex"] is not null) json["use_regex"] = false;
            var ext = json["extensions"] as JsonObject ?? [];
            json["extensions"] = ext;
            ext["position"] = PositionNumber(e.Position);
            ext["depth"] = e.Depth;
            ext["role"] = (int)e.Role;
            ext["selectiveLogic"] = LogicNumber(e.Logic);
            ext["probability"] = e.Probability;
            ext["useProbability"] = true;
            ext["scan_depth"] = e.ScanDepth is { } s ? s : null;
            ext["match_whole_words"] = e.WholeWords;
            ext["sticky"] = e.Sticky;
            ext["cooldown"] = e.Cooldown;
            ext["delay"] = e.Delay;
            ext["exclude_recursion"] = e.ExcludeRecursion;
            ext["prevent_recursion"] = e.PreventRecursion;
            ext["group"] = string.Join(",", e.Groups);
            ext["group_weight"] = e.GroupWeight;
        }
    }

    private sealed class WorldInfoDialect : LorebookDialect
    {
        public override string Tag => "st";

        public override LoreEntry Read(JsonObject json, string id)
        {
            var useProbability = json.Bool("useProbability") ?? true;
            return new LoreEntry
            {
                Id = id,
                Name = json.Str("comment") ?? "",
                Content = json.Str("content") ?? "",
                Keys = Keys(json.Strings("key"), regex: false),
                SecondaryKeys = (json.Bool("selective") ?? true) ? Keys(json.Strings("keysecondary"), regex: false) : [],
                Logic = LogicOf(json.Int("selectiveLogic")),
                Enabled = !(json.Bool("disable") ?? false),
                Constant = json.Bool("constant") ?? false,
                Probability = useProbability ? Math.Clamp(json.Int("probability") ?? 100, 0, 100) : 100,
                Order = Math.Clamp(json.Int("order") ?? 100, -100_000, 100_000),
                Position = PositionOf(json.Int("position")),
                Depth = Math.Clamp(json.Int("depth") ?? 4, 0, LoreFiles.MaxDepth),
                Role = RoleOf(json.Int("role")),
                ScanDepth = json.Int("scanDepth") is { } s ? Math.Clamp(s, 0, LoreFiles.MaxScanDepth) : null,
                CaseSensitive = json.Bool("caseSensitive") ?? false,
                WholeWords = json.Bool("matchWholeWords") ?? false,
                Sticky = Math.Clamp(json.Int("sticky") ?? 0, 0, LoreFiles.MaxTimedTurns / 2),
                Cooldown = Math.Clamp(json.Int("cooldown") ?? 0, 0, LoreFiles.MaxTimedTurns / 2),
                Delay = Math.Clamp(json.Int("delay") ?? 0, 0, 100_000),
                ExcludeRecursion = json.Bool("excludeRecursion") ?? false,
                PreventRecursion = json.Bool("preventRecursion") ?? false,
                Groups = json.Strings("group"),
                GroupWeight = Math.Clamp(json.Int("groupWeight") ?? 100, 1, 1_000_000),
            };
        }

        protected override void WriteSettings(JsonObject json, LoreEntry e)
        {
            json["key"] = Array(e.Keys.Select(k => k.Text));
            json["keysecondary"] = Array(e.SecondaryKeys.Select(k => k.Text));
            json["selective"] = e.SecondaryKeys.Count > 0;
            json["selectiveLogic"] = LogicNumber(e.Logic);
            json["comment"] = e.Name;
            json["content"] = e.Content;
            json["constant"] = e.Constant;
            json["disable"] = !e.Enabled;
            json["order"] = e.Order;
            json["position"] = PositionNumber(e.Position);
            json["depth"] = e.Depth;
            json["role"] = (int)e.Role;
            json["probability"] = e.Probability;
            json["useProbability"] = true;
            json["scanDepth"] = e.ScanDepth is { } s ? s : null;
            json["caseSensitive"] = e.CaseSensitive;
            json["matchWholeWords"] = e.WholeWords;
            json["sticky"] = e.Sticky;
            json["cooldown"] = e.Cooldown;
            json["delay"] = e.Delay;
            json["excludeRecursion"] = e.ExcludeRecursion;
            json["preventRecursion"] = e.PreventRecursion;
            json["group"] = string.Join(",", e.Groups);
            json["groupWeight"] = e.GroupWeight;
        }
    }
}
