using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Loom.Tests.Api;
using Loom.Tests.Canon;

namespace Loom.Tests.Security;

/// <summary>
/// World ownership and visibility through the API: alice, bob and carol are players and authors (no admin),
/// "ops" is an admin only. A private world is invisible (404 on every world route) to anyone it is not shared with.
/// </summary>
public sealed class WorldAccessApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static string NewWorldId() => "w-" + Guid.NewGuid().ToString("N")[..12];

    private static object Canon(string extra = "", string? visibility = null, string[]? sharedWith = null) => new
    {
        files = new Dictionary<string, string> { ["world.md"] = CanonSamples.WorldFile + extra },
        visibility,
        sharedWith,
    };

    private static Task<HttpResponseMessage> PublishAsync(HttpClient client, string id, object body) =>
        client.PutAsJsonAsync($"/api/worlds/{id}", body);

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, string id, object body) =>
        client.PatchAsync($"/api/worlds/{id}", JsonContent.Create(body));

    private static async Task<List<string>> ListedAsync(HttpClient client) =>
        (await client.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Select(w => w!["worldId"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task A_private_world_answers_404_on_every_world_route_to_a_stranger_exactly_like_an_unknown_one()
    {
        var id = NewWorldId();
        var created = await PublishAsync(app.Alice(), id, Canon(visibility: "private")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(id, created["worldId"]!.GetValue<string>());
        var world = await app.Alice().GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("alice", world["owner"]!.GetValue<string>());
        Assert.Equal("private", world["visibility"]!.GetValue<string>());

        var bob = app.Bob();
        var unknown = NewWorldId();
        foreach (var target in new[] { id, unknown })
        {
            var problems = new[]
            {
                await bob.GetAsync($"/api/worlds/{target}").ExpectProblemAsync(HttpStatusCode.NotFound),
                await bob.GetAsync($"/api/worlds/{target}/canon").ExpectProblemAsync(HttpStatusCode.NotFound),
                await bob.GetAsync($"/api/worlds/{target}/canon?version=1").ExpectProblemAsync(HttpStatusCode.NotFound),
                await bob.GetAsync($"/api/worlds/{target}/diff?from=1&to=1").ExpectProblemAsync(HttpStatusCode.NotFound),
                await PatchAsync(bob, target, new { visibility = "public" }).ExpectProblemAsync(HttpStatusCode.NotFound),
                await bob.PostJsonAsync("/api/sessions", new { worldId = target }).ExpectProblemAsync(HttpStatusCode.NotFound),
            };
            // Same words for a private world as for one that does not exist: nothing tells them apart.
            Assert.All(problems, p => Assert.Equal($"No world '{target}' exists (or it is not yours).", p["detail"]!.GetValue<string>()));
        }
        // Publishing over it is a 404 too (an unknown id would simply create a world, so compare with the detail only).
        var publish = await PublishAsync(bob, id, Canon("\n\n# Conflict\nBob tries to take the world over.")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"No world '{id}' exists (or it is not yours).", publish["detail"]!.GetValue<string>());
        Assert.DoesNotContain(id, await ListedAsync(bob));
        Assert.Contains(id, await ListedAsync(app.Alice()));

        // Nothing changed for the owner.
        var after = await app.Alice().GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, after["latestVersion"]!.GetValue<int>());
        Assert.Equal("private", after["visibility"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_shared_user_can_read_and_play_a_private_world_but_not_change_it_and_sessions_keep_their_pinned_canon()
    {
        var id = NewWorldId();
        await PublishAsync(app.Alice(), id, Canon(visibility: "private", sharedWith: ["bob"])).ExpectAsync(HttpStatusCode.Created);
        var bob = app.Bob();

        var seen = await bob.GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Null(seen["sharedWith"]); // the share list is the owner's business
        Assert.Equal(["bob"], (await app.Alice().GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK))["sharedWith"]!.AsArray().Select(n => n!.GetValue<string>()));
        await bob.GetAsync($"/api/worlds/{id}/canon").ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(id, await ListedAsync(bob));
        var session = await bob.CreateSessionAsync(id);

        var forbidden = await PublishAsync(bob, id, Canon("\n\n# Conflict\nBob edits alice's world.")).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("forbidden", forbidden["code"]!.GetValue<string>());
        await PatchAsync(bob, id, new { visibility = "public" }).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await app.Carol().GetAsync($"/api/worlds/{id}").ExpectProblemAsync(HttpStatusCode.NotFound);

        // Alice stops sharing: bob can no longer see the world or start sessions in it, but his session plays on.
        var patched = await PatchAsync(app.Alice(), id, new { sharedWith = Array.Empty<string>() }).ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(patched["sharedWith"]!.AsArray());
        await bob.GetAsync($"/api/worlds/{id}").ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.PostJsonAsync("/api/sessions", new { worldId = id }).ExpectProblemAsync(HttpStatusCode.NotFound);
        var turn = await bob.PlayAsync(session, "I look around the square.");
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        // A fork is a new session too: not in a world he can no longer see, and nothing is made.
        var before = (await bob.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count;
        await bob.PostJsonAsync($"/api/sessions/{session}/fork", new { atSeq = 1 }).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(before, (await bob.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count);
        // Alice shares again: the fork is allowed.
        await PatchAsync(app.Alice(), id, new { sharedWith = new[] { "bob" } }).ExpectAsync(HttpStatusCode.OK);
        await bob.PostJsonAsync($"/api/sessions/{session}/fork", new { atSeq = 1 }).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_public_world_is_readable_by_everyone_but_published_only_by_its_owner_or_an_admin()
    {
        var id = NewWorldId();
        await PublishAsync(app.Alice(), id, Canon()).ExpectAsync(HttpStatusCode.Created);
        var bob = app.Bob();
        var world = await bob.GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("public", world["visibility"]!.GetValue<string>());
        Assert.Equal("alice", world["owner"]!.GetValue<string>());
        await bob.GetAsync($"/api/worlds/{id}/canon").ExpectAsync(HttpStatusCode.OK);
        await bob.CreateSessionAsync(id);

        var problem = await PublishAsync(bob, id, Canon("\n\n# Conflict\nBob's version.")).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("forbidden", problem["code"]!.GetValue<string>());
        // Access before content: even an invalid canon from a non-owner is a 403, not a 422 about the canon.
        await PublishAsync(bob, id, new { files = new Dictionary<string, string> { ["world.md"] = "" } }).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(1, (await bob.GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK))["latestVersion"]!.GetValue<int>());

        // The owner and an admin publish; ownership stays with alice.
        await PublishAsync(app.Alice(), id, Canon("\n\n# Conflict\nAlice's second version.")).ExpectAsync(HttpStatusCode.OK);
        await PublishAsync(app.Admin(), id, Canon("\n\n# Conflict\nThe admin's fix.")).ExpectAsync(HttpStatusCode.OK);
        var latest = await bob.GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, latest["latestVersion"]!.GetValue<int>());
        Assert.Equal("alice", latest["owner"]!.GetValue<string>());

        // The owner turns it private with the PUT's own fields; an admin still sees it, bob no longer does.
        await PublishAsync(app.Alice(), id, Canon("\n\n# Conflict\nThe admin's fix.", visibility: "private")).ExpectAsync(HttpStatusCode.OK);
        await bob.GetAsync($"/api/worlds/{id}").ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(3, (await app.Admin().GetAsync($"/api/worlds/{id}").ExpectAsync(HttpStatusCode.OK))["latestVersion"]!.GetValue<int>());
        Assert.Contains(id, await ListedAsync(app.Admin()));
    }

    [Fact]
    public async Task Examples_belong_to_the_system_and_are_read_only_except_to_admins()
    {
        var alice = app.Alice();
        var worlds = await alice.PollAsync("/api/worlds", j => j["items"]!.AsArray().Any(w => w!["worldId"]!.GetValue<string>() == "hollow-stars"));
        var example = worlds["items"]!.AsArray().Single(w => w!["worldId"]!.GetValue<string>() == "hollow-stars")!;
        Assert.Equal("system", example["owner"]!.GetValue<string>());
        Assert.Equal("public", example["visibility"]!.GetValue<string>());

        var problem = await PublishAsync(alice, "hollow-stars", Canon()).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Contains("belongs to the system", problem["detail"]!.GetValue<string>());
        await PatchAsync(alice, "hollow-stars", new { visibility = "private" }).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(1, (await alice.GetAsync("/api/worlds/hollow-stars").ExpectAsync(HttpStatusCode.OK))["latestVersion"]!.GetValue<int>());

        // An admin may change it; it stays the system's.
        var before = await app.Admin().GetAsync("/api/worlds/hollow-stars/canon").ExpectAsync(HttpStatusCode.OK);
        var files = before["files"]!.AsObject().ToDictionary(f => f.Key, f => f.Value!.GetValue<string>());
        files["99-admin.md"] = "# Notes\n\nAn admin's correction to the example.";
        await PublishAsync(app.Admin(), "hollow-stars", new { files }).ExpectAsync(HttpStatusCode.OK);
        var after = await alice.GetAsync("/api/worlds/hollow-stars").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, after["latestVersion"]!.GetValue<int>());
        Assert.Equal("system", after["owner"]!.GetValue<string>());
    }

    [Fact]
    public async Task Access_changes_are_validated()
    {
        var id = NewWorldId();
        await PublishAsync(app.Alice(), id, Canon()).ExpectAsync(HttpStatusCode.Created);
        await PatchAsync(app.Alice(), id, new { visibility = "secret" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await PatchAsync(app.Alice(), id, new { sharedWith = new[] { " " } }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await PatchAsync(app.Alice(), id, new { sharedWith = Enumerable.Range(0, 101).Select(i => $"user{i}").ToArray() })
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        var shared = await PatchAsync(app.Alice(), id, new { sharedWith = new[] { "bob", " bob ", "carol" } }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["bob", "carol"], shared["sharedWith"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("public", shared["visibility"]!.GetValue<string>());
    }
}
