using System.Net;
using System.Net.Http.Json;

namespace Loom.Tests.Api;

public sealed class SessionApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task Create_get_patch_list_and_archive_a_session()
    {
        var client = app.Alice();
        var response = await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", name = "First light" });
        var created = await Task.FromResult(response).ExpectAsync(HttpStatusCode.Created);
        var id = created["sessionId"]!.GetValue<string>();
        Assert.Equal($"/api/sessions/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("First light", created["name"]!.GetValue<string>());
        Assert.Equal("active", created["status"]!.GetValue<string>());
        Assert.Equal("offline", created["llm"]!["provider"]!.GetValue<string>());
        Assert.True(created["canonVersion"]!.GetValue<int>() >= 1);

        var patched = await client.PatchAsJsonAsync($"/api/sessions/{id}", new { name = "Renamed", status = "paused" }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Renamed", patched["name"]!.GetValue<string>());
        Assert.Equal("paused", patched["status"]!.GetValue<string>());
        await client.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "hello" }).ExpectProblemAsync(HttpStatusCode.Conflict);

        var paused = await client.GetAsync("/api/sessions?status=paused").ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(paused["items"]!.AsArray(), s => s!["sessionId"]!.GetValue<string>() == id);
        var active = await client.GetAsync("/api/sessions?status=active").ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(active["items"]!.AsArray(), s => s!["sessionId"]!.GetValue<string>() == id);

        await client.DeleteAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.NoContent);
        var archived = await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("archived", archived["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Permanent_delete_erases_the_session()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        await client.PlayAsync(id, "I leave a note on the table.");
        await client.DeleteAsync($"/api/sessions/{id}?permanent=true").ExpectAsync(HttpStatusCode.NoContent);
        await client.GetAsync($"/api/sessions/{id}").ExpectProblemAsync(HttpStatusCode.NotFound);
        var list = await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(list["items"]!.AsArray(), s => s!["sessionId"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task Another_users_session_answers_404_and_is_not_listed()
    {
        var alice = app.Alice();
        var bob = app.Bob();
        var id = await alice.CreateSessionAsync();
        await bob.GetAsync($"/api/sessions/{id}").ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "I steal the story." }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.GetAsync($"/api/sessions/{id}/turns").ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.DeleteAsync($"/api/sessions/{id}?permanent=true").ExpectProblemAsync(HttpStatusCode.NotFound);
        var bobs = await bob.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(bobs["items"]!.AsArray(), s => s!["sessionId"]!.GetValue<string>() == id);
        await alice.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Missing_or_wrong_credentials_are_401_when_not_in_loopback_mode()
    {
        var anonymous = app.CreateClient();
        await anonymous.GetAsync("/api/sessions").ExpectProblemAsync(HttpStatusCode.Unauthorized);
        var wrong = app.ClientFor("not-a-key");
        await wrong.GetAsync("/api/sessions").ExpectProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Bad_session_requests_get_clear_problems()
    {
        var client = app.Alice();
        await client.PostJsonAsync("/api/sessions", new { name = "no world" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync("/api/sessions", new { worldId = "no-such-world" }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", canonVersion = 99 }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", llm = new { provider = "nonsense" } }).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        await client.GetAsync("/api/sessions?limit=500").ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.GetAsync("/api/sessions?status=sleeping").ExpectProblemAsync(HttpStatusCode.BadRequest);
        var id = await client.CreateSessionAsync();
        await client.PatchAsJsonAsync($"/api/sessions/{id}", new { status = "sleeping" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PatchAsJsonAsync($"/api/sessions/{id}", new { name = "" }).ExpectProblemAsync(HttpStatusCode.BadRequest);

        // A name is one line of text: a NUL or a line break is refused on create, rename and fork, and nothing changes.
        await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", name = "bad\u0000name" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PatchAsJsonAsync($"/api/sessions/{id}", new { name = "two\nlines" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync($"/api/sessions/{id}/fork", new { atSeq = 0, name = "tab\there" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        var kept = await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain("\n", kept["name"]!.GetValue<string>());
        var renamed = await client.PatchAsJsonAsync($"/api/sessions/{id}", new { name = "  The long road  " }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("The long road", renamed["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Operations_endpoints_answer()
    {
        var client = app.CreateClient();
        await client.PollAsyncRaw("/healthz");
        await client.PollAsyncRaw("/readyz");
        var openapi = await client.GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.OK);
        var paths = openapi["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/sessions/{sessionId}/turns", paths);
        Assert.Contains("/api/worlds/{worldId}", paths);
        Assert.Contains("/api/sessions/{sessionId}/events", paths);
        var page = await client.GetStringAsync("/");
        Assert.Contains("LOOM", page);
    }
}
