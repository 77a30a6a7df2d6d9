using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Loom.Tests.Api;
using Loom.Tests.Canon;

namespace Loom.Tests.Security;

/// <summary>The API with small per-owner quotas: 3 sessions, 1 world, 1,000 bytes of turn text.</summary>
public sealed class QuotaAppFactory() : LoomAppFactory(null, new Dictionary<string, string?>
{
    ["Loom:Quotas:MaxSessions"] = "3",
    ["Loom:Quotas:MaxWorlds"] = "1",
    ["Loom:Quotas:MaxStoredBytes"] = "1000",
});

/// <summary>Quotas per owner (each with its own code) and admin support reads, each of which is audited.</summary>
public sealed class QuotaAndSupportTests(QuotaAppFactory app) : IClassFixture<QuotaAppFactory>
{
    private static object Canon(string extra = "") => new { files = new Dictionary<string, string> { ["world.md"] = CanonSamples.WorldFile + extra } };

    [Fact]
    public async Task Sessions_beyond_the_quota_are_429_quota_sessions_and_a_permanent_delete_makes_room()
    {
        var bob = app.Bob();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await bob.CreateSessionAsync());

        var problem = await bob.PostJsonAsync("/api/sessions", new { worldId = "ember-vale" }).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("quota_sessions", problem["code"]!.GetValue<string>());
        // Forks and imports create sessions too.
        var fork = await bob.PostJsonAsync($"/api/sessions/{ids[0]}/fork", new { atSeq = 0 }).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("quota_sessions", fork["code"]!.GetValue<string>());
        var export = await bob.ExportAsync(ids[0]);
        await bob.PostJsonAsync("/api/sessions/import", export).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        // Archived sessions still count (they keep their storage); erased ones do not.
        await bob.DeleteAsync($"/api/sessions/{ids[0]}").ExpectAsync(HttpStatusCode.NoContent);
        await bob.PostJsonAsync("/api/sessions", new { worldId = "ember-vale" }).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        await bob.DeleteAsync($"/api/sessions/{ids[0]}?permanent=true").ExpectAsync(HttpStatusCode.NoContent);
        await bob.CreateSessionAsync();
        // Other owners are not affected.
        await app.Carol().CreateSessionAsync();
    }

    [Fact]
    public async Task Worlds_beyond_the_quota_are_429_quota_worlds_while_new_versions_of_owned_worlds_still_publish()
    {
        var carol = app.Carol();
        var first = "w-" + Guid.NewGuid().ToString("N")[..12];
        await carol.PutAsJsonAsync($"/api/worlds/{first}", Canon()).ExpectAsync(HttpStatusCode.Created);
        var problem = await carol.PutAsJsonAsync($"/api/worlds/w-{Guid.NewGuid():N}"[..^20], Canon()).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("quota_worlds", problem["code"]!.GetValue<string>());
        await carol.PutAsJsonAsync($"/api/worlds/{first}", Canon("\n\n# Conflict\nA second version.")).ExpectAsync(HttpStatusCode.OK);
        // The examples are the system's and count for nobody.
        Assert.Equal(2, (await carol.GetAsync($"/api/worlds/{first}").ExpectAsync(HttpStatusCode.OK))["latestVersion"]!.GetValue<int>());
    }

    [Fact]
    public async Task First_publishes_at_once_cannot_pass_the_world_quota_together()
    {
        var alice = app.Alice(); // owns no world in this fixture; the quota is one
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            alice.PutAsJsonAsync($"/api/worlds/race-{Guid.NewGuid().ToString("N")[..10]}", Canon())));
        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        Assert.Equal(5, answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Stored_turn_text_beyond_the_quota_refuses_new_sessions_and_turns_with_429_quota_storage()
    {
        var alice = app.Alice();
        var session = await alice.CreateSessionAsync();
        // Each offline turn stores a few hundred bytes of text: within a few turns the next one is refused.
        JsonNode? refused = null;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await alice.PostJsonAsync($"/api/sessions/{session}/turns?wait=true&timeout=60", new { input = $"I walk on, step {i}." });
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = await Task.FromResult(response).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
            else Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.NotNull(refused);
        Assert.Equal("quota_storage", refused["code"]!.GetValue<string>());
        var stored = await alice.ExportAsync(session);
        var bytes = stored["turns"]!.AsArray().Sum(t => System.Text.Encoding.UTF8.GetByteCount(t!["input"].Str() + t["narrative"].Str()));
        Assert.True(bytes >= 1000, $"refused at {bytes} bytes");

        // The owner learns the session's size one-way, shortly after the commit: wait for the refusal.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpResponseMessage create;
        do
        {
            create = await alice.PostJsonAsync("/api/sessions", new { worldId = "ember-vale" });
            if (create.StatusCode != HttpStatusCode.Created) break;
            await alice.DeleteAsync($"/api/sessions/{(await create.ReadJsonAsync())["sessionId"]!.GetValue<string>()}?permanent=true");
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        var problem = await Task.FromResult(create).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("quota_storage", problem["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Admin_support_reads_answer_metadata_and_each_read_is_audited_in_the_session()
    {
        var dave = app.ClientFor(LoomAppFactory.BobKey); // bob's sessions: the other tests only create and delete them
        var mine = await app.Carol().CreateSessionAsync();
        var admin = app.Admin();

        var page = await admin.GetAsync("/api/admin/sessions?owner=carol&reason=ticket%2042").ExpectAsync(HttpStatusCode.OK);
        var item = page["items"]!.AsArray().Single(i => i!["session"]!["sessionId"]!.GetValue<string>() == mine)!;
        Assert.Equal("carol", item["ownerId"]!.GetValue<string>());
        Assert.Null(item["session"]!["turns"]); // metadata only

        var one = await admin.GetAsync($"/api/admin/sessions/{mine}?reason=follow-up").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("carol", one["ownerId"]!.GetValue<string>());

        // Never silent: the owner sees both reads in the session's audit log, with who and why.
        var audit = await app.Carol().AuditAsync(mine);
        var reads = audit.Where(a => a["action"].Str() == "admin.read").ToList();
        Assert.Equal(2, reads.Count);
        Assert.All(reads, r => Assert.Equal("ops", r["actor"].Str()));
        Assert.Equal(["ticket 42", "follow-up"], reads.Select(r => r["reason"].Str()));

        // Only admins; unknown sessions are 404; the owner is required.
        await app.Carol().GetAsync("/api/admin/sessions?owner=carol").ExpectProblemAsync(HttpStatusCode.Forbidden);
        await dave.GetAsync($"/api/admin/sessions/{mine}").ExpectProblemAsync(HttpStatusCode.Forbidden);
        await admin.GetAsync("/api/admin/sessions/s-unknown").ExpectProblemAsync(HttpStatusCode.NotFound);
        await admin.GetAsync("/api/admin/sessions").ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(2, (await app.Carol().AuditAsync(mine)).Count(a => a["action"].Str() == "admin.read"));
    }
}
