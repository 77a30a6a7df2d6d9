using System.Globalization;
using Loom.Canon;
using Loom.Worlds;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Loom.Lore;

/// <summary>
/// Reads and writes <c>lore/*.md</c> files: YAML front matter (the entry's settings, camelCase names) and a Markdown body
/// (the entry's text, verbatim). Reading never throws for bad input: every problem becomes a canon issue.
/// </summary>
public static class LoreFiles
{
    public const string Folder = "lore/";

    /// <summary>sticky + cooldown must fit in the turns a session keeps at hand (<c>Loom:Turns:RecentTurnsCached</c>, 48 by default).</summary>
    public const int MaxTimedTurns = 40;
    public const int MaxKeys = 64;
    public const int MaxKeyLength = 256;
    public const int MaxDepth = 1000;
    public const int MaxScanDepth = 100;

    public static bool IsLoreFile(string fileName) => fileName.StartsWith(Folder, StringComparison.Ordinal);

    /// <summary>Setting names a lore file may carry, as written in front matter.</summary>
    public static readonly IReadOnlySet<string> Settings = new HashSet<string>(StringComparer.Ordinal)
    {
        "name", "keys", "secondaryKeys", "logic", "enabled", "constant", "probability", "order", "position", "depth", "role",
        "scanDepth", "caseSensitive", "wholeWords", "sticky", "cooldown", "delay", "excludeRecursion", "preventRecursion",
        "group", "groupWeight", "extra",
    };

    /// <summary>Parses one lore file. <paramref name="text"/> is LF-normalised.</summary>
    public static LoreEntry? Read(string file, string text, List<CanonIssue> errors, List<CanonIssue> warnings)
    {
        var front = CanonFrontMatter.Find(text);
        if (!front.Present || !front.Closed)
        {
            errors.Add(Issue(CanonIssueCodes.InvalidLoreEntry,
                "A lore entry starts with YAML front matter between '---' lines (at least 'keys:' or 'constant: true').", file, 1));
            return null;
        }

        YamlMappingNode map;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(front.Yaml));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode m)
            {
                errors.Add(Issue(CanonIssueCodes.InvalidLoreEntry, "The front matter must be a mapping of 'setting: value' lines.", file, 2));
                return null;
            }
            map = m;
        }
        catch (Exception ex) when (ex is YamlException or ArgumentException)
        {
            var line = ex is YamlException y ? (int)Math.Max(1, y.Start.Line) + 1 : 2;
            errors.Add(Issue(CanonIssueCodes.InvalidFrontMatter, $"Front matter is not valid YAML: {ex.Message}", file, line));
            return null;
        }

        var reader = new SettingReader(file, errors);
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (!Settings.Contains(key))
            {
                warnings.Add(Issue(CanonIssueCodes.UnknownLoreSetting, $"Unknown lore setting '{key}' is ignored.", file, (int)k.Start.Line + 1));
                continue;
            }
            values[key] = v;
        }

        var entry = new LoreEntry
        {
            Id = file,
            Name = reader.String(values, "name") ?? "",
            Content = text[front.BodyStart..].Trim('\n'),
            Keys = reader.Keys(values, "keys"),
            SecondaryKeys = reader.Keys(values, "secondaryKeys"),
            Logic = reader.Enum(values, "logic", LoreLogic.AndAny, ("and_any", LoreLogic.AndAny), ("and_all", LoreLogic.AndAll),
                ("not_any", LoreLogic.NotAny), ("not_all", LoreLogic.NotAll)),
            Enabled = reader.Bool(values, "enabled", true),
            Constant = reader.Bool(values, "constant", false),
            Probability = reader.Int(values, "probability", 100, 0, 100),
            Order = reader.Int(values, "order", 100, -100_000, 100_000),
            Position = reader.Enum(values, "position", LorePosition.AfterCanon, ("before_canon", LorePosition.BeforeCanon),
                ("after_canon", LorePosition.AfterCanon), ("at_depth", LorePosition.AtDepth)),
            Depth = reader.Int(values, "depth", 4, 0, MaxDepth),
            Role = reader.Enum(values, "role", LoreRole.System, ("system", LoreRole.System), ("user", LoreRole.User), ("assistant", LoreRole.Assistant)),
            ScanDepth = values.ContainsKey("scanDepth") ? reader.Int(values, "scanDepth", 0, 0, MaxScanDepth) : null,
            CaseSensitive = reader.Bool(values, "caseSensitive", false),
            WholeWords = reader.Bool(values, "wholeWords", false),
            Sticky = reader.Int(values, "sticky", 0, 0, MaxTimedTurns),
            Cooldown = reader.Int(values, "cooldown", 0, 0, MaxTimedTurns),
            Delay = reader.Int(values, "delay", 0, 0, 100_000),
            ExcludeRecursion = reader.Bool(values, "excludeRecursion", false),
            PreventRecursion = reader.Bool(values, "preventRecursion", false),
            Groups = reader.List(values, "group"),
            GroupWeight = reader.Int(values, "groupWeight", 100, 1, 1_000_000),
            Extra = reader.String(values, "extra"),
        };

        if (entry.Sticky + entry.Cooldown > MaxTimedTurns)
            reader.Error("sticky", $"sticky + cooldown is {entry.Sticky + entry.Cooldown}; at most {MaxTimedTurns} turns are allowed.");
        if (entry.Content.Length == 0)
            warnings.Add(Issue(CanonIssueCodes.LoreNeverFires, "The lore entry has no text under its front matter, so it adds nothing.", file, front.BodyLineOffset + 1));
        else if (entry.Keys.Count == 0 && !entry.Constant)
            warnings.Add(Issue(CanonIssueCodes.LoreNeverFires, "The entry has no keys and is not constant, so it never fires.", file, 1));
        return reader.Failed ? null : entry;
    }

    /// <summary>Writes an entry as a lore file (front matter with the settings that differ from the defaults, then the text).</summary>
    public static string Write(LoreEntry entry)
    {
        var defaults = new LoreEntry { Id = entry.Id, Content = "" };
        var map = new Dictionary<string, object>(StringComparer.Ordinal);
        if (entry.Name.Length > 0) map["name"] = entry.Name;
        if (entry.Keys.Count > 0) map["keys"] = entry.Keys.Select(k => k.Text).ToList();
        if (entry.SecondaryKeys.Count > 0)
        {
            map["secondaryKeys"] = entry.SecondaryKeys.Select(k => k.Text).ToList();
            map["logic"] = Snake(entry.Logic.ToString());
        }
        if (!entry.Enabled) map["enabled"] = false;
        if (entry.Constant) map["constant"] = true;
        if (entry.Probability != defaults.Probability) map["probability"] = entry.Probability;
        if (entry.Order != defaults.Order) map["order"] = entry.Order;
        if (entry.Position != defaults.Position) map["position"] = Snake(entry.Position.ToString());
        if (entry.Position == LorePosition.AtDepth)
        {
            map["depth"] = entry.Depth;
            map["role"] = entry.Role.ToString().ToLowerInvariant();
        }
        if (entry.ScanDepth is { } scan) map["scanDepth"] = scan;
        if (entry.CaseSensitive) map["caseSensitive"] = true;
        if (entry.WholeWords) map["wholeWords"] = true;
        if (entry.Sticky > 0) map["sticky"] = entry.Sticky;
        if (entry.Cooldown > 0) map["cooldown"] = entry.Cooldown;
        if (entry.Delay > 0) map["delay"] = entry.Delay;
        if (entry.ExcludeRecursion) map["excludeRecursion"] = true;
        if (entry.PreventRecursion) map["preventRecursion"] = true;
        if (entry.Groups.Count > 0) map["group"] = entry.Groups.ToList();
        if (entry.GroupWeight != defaults.GroupWeight) map["groupWeight"] = entry.GroupWeight;
        if (!string.IsNullOrEmpty(entry.Extra)) map["extra"] = entry.Extra;
        var yaml = new SerializerBuilder().Build().Serialize(map);
        return $"---\n{yaml}---\n{entry.Content.Trim('\n')}\n";
    }

    private static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static CanonIssue Issue(string code, string message, string file, int line) =>
        new() { Code = code, Message = message, File = file, Line = line };

    /// <summary>Typed reads of front matter values; a wrong value is an error naming the setting and its line.</summary>
    private sealed class SettingReader(string file, List<CanonIssue> errors)
    {
        public bool Failed { get; private set; }

        public void Error(string setting, string message, YamlNode? node = null)
        {
            Failed = true;
            errors.Add(Issue(CanonIssueCodes.InvalidLoreEntry, $"'{setting}': {message}", file, node is null ? 1 : (int)node.Start.Line + 1));
        }

        public string? String(Dictionary<string, YamlNode> values, string key) =>
            values.TryGetValue(key, out var node) ? Scalar(key, node) : null;

        public bool Bool(Dictionary<string, YamlNode> values, string key, bool fallback)
        {
            if (String(values, key) is not { } text) return fallback;
            if (bool.TryParse(text, out var b)) return b;
            Error(key, $"'{text}' is not true or false.", values[key]);
            return fallback;
        }

        public int Int(Dictionary<string, YamlNode> values, string key, int fallback, int min, int max)
        {
            if (String(values, key) is not { } text) return fallback;
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
            Error(key, $"'{text}' is not a whole number from {min} to {max}.", values[key]);
            return fallback;
        }

        public T Enum<T>(Dictionary<string, YamlNode> values, string key, T fallback, params (string Name, T Value)[] names)
        {
            if (String(values, key) is not { } text) return fallback;
            foreach (var (name, value) in names)
                if (string.Equals(name, text.Trim().Replace('-', '_'), StringComparison.OrdinalIgnoreCase)) return value;
            Error(key, $"'{text}' is not one of {string.Join(", ", names.Select(n => n.Name))}.", values[key]);
            return fallback;
        }

        public List<string> List(Dictionary<string, YamlNode> values, string key)
        {
            if (!values.TryGetValue(key, out var node)) return [];
            return node switch
            {
                YamlSequenceNode seq => seq.Children.Select(c => Scalar(key, c)).Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s!.Trim()).ToList(),
                // A comma-separated string, as SillyTavern writes groups and as authors tend to type keys.
                YamlScalarNode s => (s.Value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
                _ => Fail(),
            };

            List<string> Fail()
            {
                Error(key, "expected a list.", node);
                return [];
            }
        }

        public List<LoreKey> Keys(Dictionary<string, YamlNode> values, string key)
        {
            // A regex may contain commas: in a YAML list every item is one key; a plain string is split on commas.
            var texts = values.TryGetValue(key, out var node) && node is YamlScalarNode { Value: { } one } && one.StartsWith('/')
                ? [one.Trim()]
                : List(values, key);
            if (texts.Count > MaxKeys)
            {
                Error(key, $"{texts.Count} keys; at most {MaxKeys} are allowed.", node);
                return [];
            }
            var keys = new List<LoreKey>(texts.Count);
            foreach (var text in texts)
            {
                if (text.Length > MaxKeyLength)
                {
                    Error(key, $"a key is {text.Length} characters long; at most {MaxKeyLength} are allowed.", node);
                    continue;
                }
                if (LoreKey.TryParse(text, out var problem) is { } parsed) keys.Add(parsed);
                else Error(key, problem!, node);
            }
            return keys;
        }

        private string? Scalar(string key, YamlNode node)
        {
            if (node is YamlScalarNode s) return s.Value;
            Error(key, "expected a single value.", node);
            return null;
        }
    }
}
