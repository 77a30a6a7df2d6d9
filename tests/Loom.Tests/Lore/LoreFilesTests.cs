using Loom.Canon;
using Loom.Lore;
using Loom.Worlds;

namespace Loom.Tests.Lore;

public sealed class LoreFilesTests
{
    private const string World = "# World\nSaltmere is a harbour city of fog and salt, built on old stone.\n\n# Tone\nQuiet, tense, wet; small kindnesses matter a great deal.\n";

    private static CanonValidation Validate(params (string Name, string Text)[] lore)
    {
        var files = new Dictionary<string, string> { ["world.md"] = World };
        foreach (var (name, text) in lore) files[name] = text;
        return CanonParser.Validate(new CanonSubmission { Files = files });
    }

    [Fact]
    public void Lore_files_are_accepted_and_are_not_canon_sections()
    {
        var result = Validate(("lore/mira.md", "---\nkeys: [Mira]\n---\nMira keeps the key.\n"));
        Assert.True(result.Valid, string.Join("; ", result.Errors.Select(e => e.Message)));
        Assert.DoesNotContain(result.Sections, s => s.File.StartsWith("lore/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Mira keeps the key.", "invalid_lore_entry")] // no front matter
    [InlineData("---\nkeys: ['/([a-z/']\n---\nText", "invalid_lore_entry")] // bad regex
    [InlineData("---\nkeys: [a]\nprobability: 150\n---\nText", "invalid_lore_entry")]
    [InlineData("---\nkeys: [a]\nposition: somewhere\n---\nText", "invalid_lore_entry")]
    [InlineData("---\nkeys: [a]\nsticky: 30\ncooldown: 30\n---\nText", "invalid_lore_entry")]
    [InlineData("---\nkeys: [a\n---\nText", "invalid_front_matter")]
    public void Bad_entries_are_errors_with_their_file(string text, string code)
    {
        var result = Validate(("lore/bad.md", text));
        Assert.False(result.Valid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(code, error.Code);
        Assert.Equal("lore/bad.md", error.File);
    }

    [Fact]
    public void Unknown_settings_and_entries_that_never_fire_are_warnings()
    {
        var result = Validate(("lore/odd.md", "---\nkeyz: [Mira]\n---\nText\n"));
        Assert.True(result.Valid);
        Assert.Contains(result.Warnings, w => w.Code == "unknown_lore_setting" && w.File == "lore/odd.md" && w.Line == 2);
        Assert.Contains(result.Warnings, w => w.Code == "lore_never_fires");
    }

    [Fact]
    public void Other_folders_are_refused()
    {
        var result = Validate(("notes/x.md", "# X\ntext"));
        Assert.Contains(result.Errors, e => e.Code == "invalid_file_name");
    }

    [Fact]
    public void Write_then_read_gives_the_same_entry()
    {
        List<CanonIssue> errors = [], warnings = [];
        var original = LoreFiles.Read("lore/a.md", """
            ---
            name: 'A: the harbour'
            keys: [harbour, '/quay(side)?/i']
            secondaryKeys: [fog]
            logic: not_all
            constant: true
            probability: 40
            order: 7
            position: at_depth
            depth: 3
            role: user
            scanDepth: 5
            caseSensitive: true
            wholeWords: true
            sticky: 2
            cooldown: 3
            delay: 4
            excludeRecursion: true
            preventRecursion: true
            group: [sky, sea]
            groupWeight: 9
            extra: '{"vectorized":false}'
            ---
            The harbour text.
            """.Replace("\r\n", "\n"), errors, warnings)!;
        Assert.Empty(errors);
        var again = LoreFiles.Read("lore/a.md", LoreFiles.Write(original), errors, warnings)!;
        Assert.Empty(errors);
        Assert.Equal(LoreFiles.Write(original), LoreFiles.Write(again));
        Assert.Equal(["harbour", "/quay(side)?/i"], again.Keys.Select(k => k.Text));
        Assert.Equal((LoreLogic.NotAll, LorePosition.AtDepth, LoreRole.User, 3, 40), (again.Logic, again.Position, again.Role, again.Depth, again.Probability));
        Assert.Equal(["sky", "sea"], again.Groups);
        Assert.Equal("{\"vectorized\":false}", again.Extra);
        Assert.Equal("A: the harbour", again.Name);
    }

    [Fact]
    public void Lore_changes_show_in_the_hash()
    {
        var a = CanonHasher.Compute(new Dictionary<string, string> { ["world.md"] = World, ["lore/a.md"] = "---\nkeys: [a]\n---\nOne\n" });
        var b = CanonHasher.Compute(new Dictionary<string, string> { ["world.md"] = World, ["lore/a.md"] = "---\nkeys: [a]\n---\nTwo\n" });
        Assert.NotEqual(a, b);
    }
}
