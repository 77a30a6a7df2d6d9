using Loom.Errors;
using Loom.Security;
using Loom.Tests.Canon;
using Loom.Worlds;

namespace Loom.Tests.Worlds;

[Collection(WorldClusterCollection.Name)]
public class WorldGrainTests(WorldClusterFixture fixture)
{
    private static readonly Caller Author = new() { OwnerId = "author", Roles = [LoomRoles.Author] };

    private static string NewWorldId() => "w-" + Guid.NewGuid().ToString("N")[..12];

    private IWorldGrain World(string id) => fixture.Grains.GetGrain<IWorldGrain>(id);

    private static CanonSubmission WithExtra(string text) => new()
    {
        Files = CanonSamples.Files(("world.md", CanonSamples.WorldFile), ("extra.md", text)),
    };

    [Fact]
    public async Task A_change_built_on_an_older_version_is_refused_and_stores_nothing()
    {
        var id = NewWorldId();
        await World(id).Publish(Author, CanonSamples.Valid(), null);
        // An import read version 1 to merge into; meanwhile the author published version 2.
        await World(id).Publish(Author, WithExtra("# Conflict\nA rival guild moves in by night."), null);
        var stale = await Assert.ThrowsAsync<LoomProblemException>(() =>
            World(id).Publish(Author, WithExtra("# Conflict\nThe merged import.") with { BaseVersion = 1 }, null));
        Assert.Equal((409, "canon_changed"), (stale.Status, stale.Code));
        Assert.Equal(2, (await World(id).GetInfo(Author))!.LatestVersion);
        // Built on the latest, it is published.
        Assert.Equal(3, (await World(id).Publish(Author, WithExtra("# Conflict\nThe merged import.") with { BaseVersion = 2 }, null)).Canon.Version);
    }

    [Fact]
    public async Task First_publish_creates_version_one_and_the_world()
    {
        var id = NewWorldId();
        var result = await World(id).Publish(Author, CanonSamples.Valid(), null);

        Assert.True(result.Created);
        Assert.Equal((id, 1, "Test Vale"), (result.Canon.WorldId, result.Canon.Version, result.Canon.Title));
        Assert.StartsWith("sha256:", result.Canon.Hash);
        Assert.Null(result.Canon.Files);
        Assert.Equal(["World", "Tone"], result.Canon.Sections.Select(s => s.Name));

        var info = await World(id).GetInfo(Author);
        Assert.NotNull(info);
        Assert.Equal(1, info.LatestVersion);
        Assert.Equal(result.Canon.Hash, Assert.Single(info.Versions).Hash);
    }

    [Fact]
    public async Task Later_publishes_append_immutable_versions()
    {
        var id = NewWorldId();
        var v1 = await World(id).Publish(Author, CanonSamples.Valid(), null);
        var v2 = await World(id).Publish(Author, WithExtra("# Places\n\nKilnmouth is a walled mining town built around a pithead."), null);

        Assert.False(v2.Created);
        Assert.Equal(2, v2.Canon.Version);
        Assert.NotEqual(v1.Canon.Hash, v2.Canon.Hash);

        var first = await World(id).GetCanon(Author, 1, includeFiles: true);
        Assert.Equal(v1.Canon.Hash, first.Hash);
        Assert.Equal(["world.md"], first.Files!.Keys);
        var latest = await World(id).GetCanon(Author, null, includeFiles: true);
        Assert.Equal(2, latest.Version);
        Assert.Equal(["extra.md", "world.md"], latest.Files!.Keys.Order());
        Assert.Equal(CanonSamples.WorldFile, latest.Files["world.md"]);
        // Section text is rebuilt from stored files, exactly as the parser saw it.
        Assert.Equal(CanonParserSections(WithExtra("# Places\n\nKilnmouth is a walled mining town built around a pithead.")),
            latest.Sections.Select(s => (s.Name, s.File, s.Line, s.Content)));
        Assert.Equal([1, 2], (await World(id).GetInfo(Author))!.Versions.Select(v => v.Version));
    }

    private static IEnumerable<(string, string, int, string)> CanonParserSections(CanonSubmission submission) =>
        Loom.Canon.CanonParser.Validate(submission).Sections.Select(s => (s.Name, s.File, s.Line, s.Content));

    [Fact]
    public async Task Identical_republish_returns_the_latest_version_unchanged()
    {
        var id = NewWorldId();
        var first = await World(id).Publish(Author, CanonSamples.Valid(), null);
        var crlf = new CanonSubmission { Files = CanonSamples.Files(("world.md", CanonSamples.WorldFile.Replace("\n", "\r\n"))) };

        var again = await World(id).Publish(Author, crlf, null);

        Assert.False(again.Created);
        Assert.Equal((1, first.Canon.Hash), (again.Canon.Version, again.Canon.Hash));
        Assert.Single((await World(id).GetInfo(Author))!.Versions);
    }

    [Fact]
    public async Task Invalid_canon_is_422_with_errors_and_nothing_is_stored()
    {
        var id = NewWorldId();
        var bad = new CanonSubmission { Files = CanonSamples.Files(("world.md", "# World\n\n# Places\n\nSomething.\n")) };

        var problem = await Assert.ThrowsAsync<LoomProblemException>(() => World(id).Publish(Author, bad, null));

        Assert.Equal((422, "invalid_canon"), (problem.Status, problem.Code));
        Assert.NotNull(problem.Errors);
        Assert.Contains(problem.Errors["files/world.md"], m => m.Contains("empty_section") && m.StartsWith("line 1:"));
        Assert.Contains(problem.Errors["canon"], m => m.Contains("missing_tone_section"));
        Assert.Null(await World(id).GetInfo(Author));
        Assert.DoesNotContain(await fixture.Grains.GetGrain<IWorldCatalogGrain>(0).List(Author), w => w.WorldId == id);
    }

    [Fact]
    public async Task Invalid_canon_after_a_good_one_leaves_the_world_as_it_was()
    {
        var id = NewWorldId();
        await World(id).Publish(Author, CanonSamples.Valid(), null);

        await Assert.ThrowsAsync<LoomProblemException>(() => World(id).Publish(Author, new CanonSubmission(), null));

        Assert.Equal(1, (await World(id).GetInfo(Author))!.LatestVersion);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("under_score")]
    public async Task Bad_world_id_is_400(string id)
    {
        var problem = await Assert.ThrowsAsync<LoomProblemException>(() => World(id).Publish(Author, CanonSamples.Valid(), null));

        Assert.Equal(400, problem.Status);
        Assert.True(problem.Errors!.ContainsKey("worldId"));
    }

    [Fact]
    public async Task Unknown_world_and_version_are_404_and_a_version_below_1_is_400()
    {
        var id = NewWorldId();
        Assert.Null(await World(id).GetInfo(Author));
        Assert.Equal(404, (await Assert.ThrowsAsync<LoomProblemException>(() => World(id).GetCanon(Author, null, false))).Status);

        await World(id).Publish(Author, CanonSamples.Valid(), null);
        Assert.Equal(404, (await Assert.ThrowsAsync<LoomProblemException>(() => World(id).GetCanon(Author, 2, false))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<LoomProblemException>(() => World(id).Diff(Author, 1, 3))).Status);

        // Versions count from 1, so 0 is a malformed number (400 naming the field) whether or not the world exists.
        var zero = await Assert.ThrowsAsync<LoomProblemException>(() => World(id).GetCanon(Author, 0, false));
        Assert.Equal(400, zero.Status);
        Assert.True(zero.Errors!.ContainsKey("version"));
        Assert.Equal(400, (await Assert.ThrowsAsync<LoomProblemException>(() => World(NewWorldId()).Diff(Author, 1, -1))).Status);
    }

    [Fact]
    public async Task Diff_between_versions_reports_each_file()
    {
        var id = NewWorldId();
        await World(id).Publish(Author, CanonSamples.Valid(), null);
        await World(id).Publish(Author, WithExtra("# Places\n\nKilnmouth is a walled mining town built around a pithead."), null);

        var diff = await World(id).Diff(Author, 1, 2);

        Assert.Equal((1, 2), (diff.From, diff.To));
        Assert.Equal([("extra.md", FileDiffStatus.Added), ("world.md", FileDiffStatus.Unchanged)],
            diff.Files.Select(f => (f.File, f.Status)));
        Assert.StartsWith("--- /dev/null\n+++ b/extra.md\n@@ -0,0 +1,3 @@\n+# Places\n", diff.Files[0].Diff);
    }

    [Fact]
    public async Task Catalog_lists_published_worlds_with_their_latest_version()
    {
        var a = "cat-a-" + Guid.NewGuid().ToString("N")[..8];
        var b = "cat-b-" + Guid.NewGuid().ToString("N")[..8];
        await World(a).Publish(Author, CanonSamples.Valid(), null);
        await World(b).Publish(Author, CanonSamples.Valid("Second"), null);
        await World(b).Publish(Author, WithExtra("# Places\n\nHearthford is a market town at the ford, loud and friendly."), null);

        var list = await fixture.Grains.GetGrain<IWorldCatalogGrain>(0).List(Author);

        var mine = list.Where(w => w.WorldId == a || w.WorldId == b).ToList();
        Assert.Equal([(a, 1, "Test Vale"), (b, 2, "Test Vale")], mine.Select(w => (w.WorldId, w.LatestVersion, w.Title)));
        Assert.Equal(list.Select(w => w.WorldId).Order(StringComparer.Ordinal), list.Select(w => w.WorldId));
    }

    [Fact]
    public async Task Catalog_ignores_an_older_summary_arriving_late()
    {
        var catalog = fixture.Grains.GetGrain<IWorldCatalogGrain>(0);
        var id = NewWorldId();
        await catalog.Upsert(new WorldInfo { WorldId = id, Title = "new", LatestVersion = 3 });
        await catalog.Upsert(new WorldInfo { WorldId = id, Title = "old", LatestVersion = 2 });

        Assert.Equal("new", (await catalog.List(Author)).Single(w => w.WorldId == id).Title);
    }

    [Fact]
    public async Task Canon_tools_validate_without_storing()
    {
        var tools = fixture.Grains.GetGrain<ICanonToolsGrain>(0);

        var good = await tools.Validate(CanonSamples.Valid());
        var bad = await tools.Validate(new CanonSubmission { Files = CanonSamples.Files(("x.txt", "")) });

        Assert.True(good.Valid);
        Assert.False(bad.Valid);
        Assert.Contains(bad.Errors, e => e.Code == "invalid_file_name");
    }
}
