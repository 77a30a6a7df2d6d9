using Loom.Canon;
using Loom.Worlds;

namespace Loom.Tests.Worlds;

[Collection(WorldClusterCollection.Name)]
public class ExampleWorldsTests(WorldClusterFixture fixture)
{
    [Fact]
    public void Both_examples_are_embedded_with_several_files()
    {
        Assert.Equal(["ember-vale", "hollow-stars"], ExampleWorlds.All.Select(w => w.WorldId));
        Assert.All(ExampleWorlds.All, w => Assert.True(w.Canon.Files.Count >= 4, w.WorldId));
    }

    [Theory]
    [InlineData("ember-vale", "Ember Vale")]
    [InlineData("hollow-stars", "Hollow Stars")]
    public void Example_canon_is_valid_with_no_errors_or_warnings(string worldId, string title)
    {
        var canon = ExampleWorlds.All.Single(w => w.WorldId == worldId).Canon;

        var result = CanonParser.Validate(canon);

        Assert.True(result.Valid, string.Join("; ", result.Errors.Select(e => $"{e.File}:{e.Line} {e.Message}")));
        Assert.Empty(result.Warnings);
        Assert.Equal(title, result.Title);
        Assert.Equal("1.0.0", result.Metadata["version"]);
        Assert.False(string.IsNullOrWhiteSpace(result.Metadata["author"]));
        foreach (var type in new[] { SectionType.World, SectionType.Tone, SectionType.Conflict, SectionType.Permissions, SectionType.Causality })
        {
            Assert.Contains(result.Sections, s => s.Type == type);
        }

        // At least one heading uses the Chinese alias in parentheses.
        Assert.Contains(result.Sections, s => s.Name.Contains('(') && s.Name.Any(c => c > 0x4E00));
    }

    [Fact]
    public async Task Seeding_publishes_missing_examples_once()
    {
        await ExampleWorlds.SeedAsync(fixture.Grains, CancellationToken.None);
        foreach (var (worldId, _) in ExampleWorlds.All)
        {
            Assert.Equal(1, (await fixture.Grains.GetGrain<IWorldGrain>(worldId).GetInfo(ExampleWorlds.System))?.LatestVersion);
        }

        // An admin's later edit must survive a re-seed (seeding would otherwise publish v3 = the original).
        var (id, canon) = ExampleWorlds.All[0];
        var edited = new CanonSubmission { Files = new(canon.Files) { ["99-notes.md"] = "# Notes\n\nThe author added this later, after seeding." } };
        await fixture.Grains.GetGrain<IWorldGrain>(id).Publish(ExampleWorlds.System, edited, null);
        await ExampleWorlds.SeedAsync(fixture.Grains, CancellationToken.None);

        Assert.Equal(2, (await fixture.Grains.GetGrain<IWorldGrain>(id).GetInfo(ExampleWorlds.System))?.LatestVersion);
        Assert.Equal(1, (await fixture.Grains.GetGrain<IWorldGrain>(ExampleWorlds.All[1].WorldId).GetInfo(ExampleWorlds.System))?.LatestVersion);

        var catalog = await fixture.Grains.GetGrain<IWorldCatalogGrain>(0).List(ExampleWorlds.System);
        Assert.Contains(catalog, w => w.WorldId == "ember-vale" && w.Title == "Ember Vale");
    }
}
