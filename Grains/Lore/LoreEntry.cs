namespace Loom.Lore;

/// <summary>Where an activated entry goes in the prompt.</summary>
public enum LorePosition
{
    /// <summary>A system message just before the canon message (costs the provider's prompt-cache prefix while active).</summary>
    BeforeCanon,
    /// <summary>A system message just after the canon message (the default; the cached prefix stays intact).</summary>
    AfterCanon,
    /// <summary>A message at <see cref="LoreEntry.Depth"/> from the end of the chat (0 = after the player's input).</summary>
    AtDepth,
}

/// <summary>The role of an <see cref="LorePosition.AtDepth"/> message.</summary>
public enum LoreRole { System, User, Assistant }

/// <summary>How secondary keys combine with a primary match (SillyTavern's selective logic).</summary>
public enum LoreLogic { AndAny, AndAll, NotAny, NotAll }

/// <summary>
/// One lore entry: a <c>lore/*.md</c> file, YAML front matter for its settings and the Markdown body as its text,
/// which reaches the narrator verbatim. Parsed from a canon version, never stored on its own.
/// </summary>
public sealed record LoreEntry
{
    /// <summary>The file name (<c>lore/…md</c>): the entry's identity across versions and turns.</summary>
    public required string Id { get; init; }
    public string Name { get; init; } = "";
    public required string Content { get; init; }
    public IReadOnlyList<LoreKey> Keys { get; init; } = [];
    public IReadOnlyList<LoreKey> SecondaryKeys { get; init; } = [];
    public LoreLogic Logic { get; init; } = LoreLogic.AndAny;
    public bool Enabled { get; init; } = true;
    public bool Constant { get; init; }
    /// <summary>Chance in percent (0..100) that a matched entry is used.</summary>
    public int Probability { get; init; } = 100;
    /// <summary>Higher order is kept first when over budget and placed later (nearer the end) within its position.</summary>
    public int Order { get; init; } = 100;
    public LorePosition Position { get; init; } = LorePosition.AfterCanon;
    public int Depth { get; init; } = 4;
    public LoreRole Role { get; init; } = LoreRole.System;
    /// <summary>Messages scanned for this entry's keys; null uses the world's <c>loreScanDepth</c>.</summary>
    public int? ScanDepth { get; init; }
    public bool CaseSensitive { get; init; }
    public bool WholeWords { get; init; }
    /// <summary>Turns the entry stays active after it fires.</summary>
    public int Sticky { get; init; }
    /// <summary>Turns the entry cannot fire after it fired (after its sticky turns).</summary>
    public int Cooldown { get; init; }
    /// <summary>Turns the story must have before the entry may fire.</summary>
    public int Delay { get; init; }
    /// <summary>Non-recursable: other entries' text cannot activate this one.</summary>
    public bool ExcludeRecursion { get; init; }
    /// <summary>This entry's text does not activate others.</summary>
    public bool PreventRecursion { get; init; }
    /// <summary>Inclusion groups: of the activated entries sharing a group, one is kept (by weight).</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];
    public int GroupWeight { get; init; } = 100;
    /// <summary>Settings LOOM does not use (e.g. from an imported lorebook), kept as JSON text for export.</summary>
    public string? Extra { get; init; }
}
