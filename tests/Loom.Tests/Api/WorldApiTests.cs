using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Loom.Tests.Api;

public sealed class WorldApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private const string ValidCanon = """
        ---
        title: Test Harbour
        version: 1
        author: tests
        ---
        # World (世界观)
        A grey harbour town on a cold sea, where the lighthouse never goes dark and the tides keep secrets.

        # Tone
        Quiet, melancholic, with small moments of warmth between strangers who share the night watch.
        """;

    [Fact]
    public async Task Example_worlds_are_published_on_first_start()
    {
        var client = app.Alice();
        var worlds = await client.PollAsync("/api/worlds", j => j["items"]!.AsArray().Count >= 2);
        var ids = worlds["items"]!.AsArray().Select(w => w!["worldId"]!.GetValue<string>()).ToList();
        Assert.Contains("ember-vale", ids);
        Assert.Contains("hollow-stars", ids);
    }

    [Fact]
    public async Task Publishing_creates_versions_and_republishing_the_same_canon_changes_nothing()
    {
        var client = app.Alice();
        var id = "harbour-" + Guid.NewGuid().ToString("N")[..6];
        var first = await client.PutAsJsonAsync($"/api/worlds/{id}", new { files = new Dictionary<string, string> { ["world.md"] = ValidCanon } })
            .ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(1, first["version"]!.GetValue<int>());
        Assert.StartsWith("sha256:", first["hash"]!.GetValue<string>());
        Assert.Equal("Test Harbour", first["title"]!.GetValue<string>());
        Assert.Contains(first["sections"]!.AsArray(), s => s!["type"]!.GetValue<string>() == "world");

        await client.PutAsJsonAsync($"/api/worlds/{id}", new { files = new Dictionary<string, string> { ["world.md"] = ValidCanon } })
            .ExpectAsync(HttpStatusCode.OK);
        var second = await client.PutAsJsonAsync($"/api/worlds/{id}", new { files = new Dictionary<string, string> { ["world.md"] = ValidCanon + "\n\n# Conflict\nThe harbour master hides a ledger that could ruin half the town's families." } })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, second["version"]!.GetValue<int>());

        var world = await client.GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, world["latestVersion"]!.GetValue<int>());
        Assert.Equal(2, world["versions"]!.AsArray().Count);

        var canon1 = await client.GetAsync($"/api/worlds/{id}/canon?version=1").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(ValidCanon, canon1["files"]!["world.md"]!.GetValue<string>());

        var diff = await client.GetAsync($"/api/worlds/{id}/diff?from=1&to=2").ExpectAsync(HttpStatusCode.OK);
        var file = diff["files"]!.AsArray().Single()!;
        Assert.Equal("modified", file["status"]!.GetValue<string>());
        Assert.Contains("+# Conflict", file["diff"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invalid_canon_is_refused_with_422_and_nothing_is_stored()
    {
        var client = app.Alice();
        var id = "broken-" + Guid.NewGuid().ToString("N")[..6];
        var problem = await client.PutAsJsonAsync($"/api/worlds/{id}", new { files = new Dictionary<string, string> { ["a.md"] = "# Tone\nOnly a tone, no world at all in this canon file." } })
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(problem["errors"]);
        await client.GetAsync($"/api/worlds/{id}").ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_markdown_body_publishes_one_file()
    {
        var client = app.Alice();
        var id = "md-" + Guid.NewGuid().ToString("N")[..6];
        var content = new StringContent(ValidCanon, Encoding.UTF8, "text/markdown");
        var canon = await client.PutAsync($"/api/worlds/{id}", content).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(1, canon["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task Invalid_utf8_markdown_is_422()
    {
        var client = app.Alice();
        var bytes = Encoding.UTF8.GetBytes(ValidCanon).Concat(new byte[] { 0xC3, 0x28 }).ToArray();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/markdown");
        await client.PutAsync("/api/worlds/bad-bytes", content).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task Validate_reports_errors_warnings_and_sections_without_storing()
    {
        var client = app.Alice();
        var result = await client.PostJsonAsync("/api/canon/validate", new { files = new Dictionary<string, string> { ["x.md"] = "# 世界观\nShort.\n" } })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.False(result["valid"]!.GetValue<bool>());
        Assert.NotEmpty(result["errors"]!.AsArray());
        Assert.Contains(result["sections"]!.AsArray(), s => s!["type"]!.GetValue<string>() == "world");
    }

    [Fact]
    public async Task Bad_world_requests_get_clear_problems()
    {
        var client = app.Alice();
        await client.PutAsJsonAsync("/api/worlds/Not_Valid", new { files = new Dictionary<string, string> { ["w.md"] = ValidCanon } })
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.GetAsync("/api/worlds/no-such-world").ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.GetAsync("/api/worlds/ember-vale/canon?version=999").ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.PutAsync("/api/worlds/x1", new StringContent("<xml/>", Encoding.UTF8, "application/xml"))
            .ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }
}
