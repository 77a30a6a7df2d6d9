using Loom.Memory;
using Loom.Worlds;

namespace Loom.Import;

/// <summary>
/// The character of a world imported from a card, as a memory entity: a session of that world starts knowing them,
/// so retrieval finds the character by name, alias or description like any entity the story made. The card's text
/// also stays canon (the narrator always sees it); the entity is what memory search, the context viewer and
/// relations can point at.
/// </summary>
public static class CardCharacter
{
    public const string SourceAttribute = "source";
    public const string PersonalityAttribute = "personality";
    public const string ScenarioAttribute = "scenario";
    /// <summary>The normalizer's limit on one attribute value.</summary>
    private const int MaxAttributeChars = 1000;

    /// <summary>
    /// The upsert that creates the card's character, or null when the world was not imported from a card. The text is
    /// the world's current canon sections (an author may have edited them since the import), else the kept card's.
    /// </summary>
    public static MemoryOp? Op(CanonVersion canon, MemoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(canon);
        ArgumentNullException.ThrowIfNull(options);
        var files = canon.Files ?? [];
        var kept = CardWorld.ReadJsonFile(files.GetValueOrDefault(CardWorld.CardFile));
        if (kept is null) return null;
        var data = kept.Str("spec") is null ? kept : kept["data"] as System.Text.Json.Nodes.JsonObject;
        if (data?.Str("name") is not { Length: > 0 } name) return null;

        var description = Field(canon, data, "World", "description");
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { [SourceAttribute] = "character card" };
        if (Field(canon, data, "Tone", "personality") is { Length: > 0 } personality) attributes[PersonalityAttribute] = Shorten(personality, MaxAttributeChars);
        if (Field(canon, data, "Scenario", "scenario") is { Length: > 0 } scenario) attributes[ScenarioAttribute] = Shorten(scenario, MaxAttributeChars);
        var op = new MemoryOp
        {
            Op = MemoryOpNormalizer.Upsert,
            Type = EntityType.Character,
            Name = Shorten(name.Trim(), options.MaxNameChars),
            Content = Shorten(description, options.MaxContentChars),
            Attributes = attributes,
        };
        // A name memory cannot hold (e.g. no letters or digits for an id) must not stop the session from starting.
        return MemoryOpNormalizer.TryNormalize(op, options, out _, out _) ? op : null;
    }

    /// <summary>Applies <paramref name="character"/> before the first turn (seq 0: a rollback to the start keeps it).</summary>
    public static WorldMemory Seed(WorldMemory memory, MemoryOp character)
    {
        ArgumentNullException.ThrowIfNull(memory);
        memory.Apply([character], 0);
        return memory;
    }

    private static string Field(CanonVersion canon, System.Text.Json.Nodes.JsonObject card, string section, string field)
    {
        var text = CardExport.SectionBody(canon, section) is { } body ? body : card.Str(field) ?? "";
        return text == CardWorld.Placeholder(section) ? "" : text.Trim();
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)].TrimEnd() + "…";
}
