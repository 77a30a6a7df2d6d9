using System.Net;
using Loom.Gateway.Auth;
using Loom.Multiplayer;
using Loom.Sessions;
using Loom.Tests.Api;
using Loom.Worlds;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Sessions;

/// <summary>
/// Requests for sessions, worlds and invites that do not exist (probed ids, a create or import that fails) leave no activation
/// behind until idle collection, while a real session a stranger probes stays where it is.
/// </summary>
public sealed class UnknownSessionActivationTests(UnknownSessionActivationTests.App app) : IClassFixture<UnknownSessionActivationTests.App>
{
    /// <summary>A burst of 100 requests with one wrong key is more failed authentications than one client may make at once by default.</summary>
    public sealed class App() : LoomAppFactory(null, new Dictionary<string, string?> { ["Loom:Limits:FailedAuthBurst"] = "1000" });

    [Fact]
    public async Task Unknown_sessions_and_failed_creates_leave_no_activations()
    {
        var alice = app.Alice();
        var bob = app.Bob();
        var local = app.Services.GetRequiredService<LocalSessions>();
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var owned = await alice.CreateSessionAsync();
        Assert.DoesNotContain(owned, local.Snapshot()); // a create activates nothing; its first use does
        await alice.GetAsync($"/api/sessions/{owned}").ExpectAsync(HttpStatusCode.OK);
        var before = local.Snapshot().ToHashSet(StringComparer.Ordinal);

        var unknown = Enumerable.Range(0, 20).Select(_ => SessionIds.New()).ToList();
        foreach (var id in unknown)
        {
            await alice.GetAsync($"/api/sessions/{id}").ExpectProblemAsync(HttpStatusCode.NotFound); // session, then room
            await alice.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "Hello?" }).ExpectProblemAsync(HttpStatusCode.NotFound);
        }
        var worlds = unknown.Take(5).Select(id => "w" + id).ToList();
        var codes = unknown.Take(5).Select(id => "c" + id).ToList();
        foreach (var world in worlds)
        {
            await alice.GetAsync($"/api/worlds/{world}").ExpectProblemAsync(HttpStatusCode.NotFound);
            await alice.PostJsonAsync("/api/sessions", new { worldId = world }).ExpectProblemAsync(HttpStatusCode.NotFound); // a failed create
        }
        var lying = (await alice.ExportAsync(owned)).DeepClone(); // refused by the session grain under its new id
        lying["timeline"]!["nextOrdinal"] = 2_000_000;
        for (var i = 0; i < 3; i++)
            await alice.PostJsonAsync("/api/sessions/import", lying).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        foreach (var code in codes)
            await bob.PostJsonAsync($"/api/invites/{code}/join", new { displayName = "Bob" }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.GetAsync($"/api/sessions/{owned}").ExpectProblemAsync(HttpStatusCode.NotFound);

        async Task<bool> Gone()
        {
            if (local.Snapshot().Any(id => !before.Contains(id))) return false; // a probed id or a failed create
            var probed = unknown.Select(id => (GrainReference)grains.GetGrain<ISessionRoomGrain>(id))
                .Concat(worlds.Select(id => (GrainReference)grains.GetGrain<IWorldGrain>(id)))
                .Concat(codes.Select(code => (GrainReference)grains.GetGrain<IInviteGrain>(code)));
            foreach (var grain in probed)
            {
                if (await management.GetGrainActivationCount(grain) > 0) return false;
            }
            return true;
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await Gone())
        {
            Assert.True(DateTime.UtcNow < deadline, "Empty activations were still there after 20 s; new sessions: "
                + string.Join(", ", local.Snapshot().Where(id => !before.Contains(id))));
            await Task.Delay(50);
        }

        // The stranger's 404 left the owner's session (and its activation) alone.
        Assert.Contains(owned, local.Snapshot());
        await alice.GetAsync($"/api/sessions/{owned}").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_burst_of_requests_for_an_id_that_names_nothing_is_answered_not_rejected()
    {
        // Many concurrent reads of one unknown id used to answer 503: the empty activation went after its first 404, the
        // rest were forwarded to a new one that went too, until Orleans' forward limit rejected them.
        var alice = app.Alice();
        // A wrong key of the shape LOOM issues, so its look-up reaches the key grain (any other shape is refused before).
        var stranger = app.ClientFor(KeysCommand.NewKey());
        var session = SessionIds.New();
        var world = "w" + SessionIds.New().ToLowerInvariant();
        var code = "c" + SessionIds.New();
        var bursts = new (string What, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Expected)[]
        {
            ("session", () => alice.GetAsync($"/api/sessions/{session}"), HttpStatusCode.NotFound),
            ("turns", () => alice.GetAsync($"/api/sessions/{session}/turns"), HttpStatusCode.NotFound),
            ("world", () => alice.GetAsync($"/api/worlds/{world}"), HttpStatusCode.NotFound),
            ("invite", () => alice.PostJsonAsync($"/api/invites/{code}/join", new { displayName = "Alice" }), HttpStatusCode.NotFound),
            ("wrong key", () => stranger.GetAsync("/api/sessions"), HttpStatusCode.Unauthorized),
        };
        foreach (var (what, send, expected) in bursts)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
            {
                using var response = await send();
                return response.StatusCode;
            }));
            var counts = answers.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(counts.Count == 1 && counts.ContainsKey(expected),
                $"{what}: " + string.Join(", ", counts.Select(c => $"{(int)c.Key} ×{c.Value}")));
        }

        // The lingering activations still go: the probed session holds no activation shortly after the burst.
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await management.GetGrainActivationCount((GrainReference)grains.GetGrain<ISessionGrain>(session)) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The probed session's activation was still there after 20 s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_string_no_session_can_be_named_by_is_a_404_without_an_activation()
    {
        var alice = app.Alice();
        var local = app.Services.GetRequiredService<LocalSessions>();
        var before = local.Snapshot().ToHashSet(StringComparer.Ordinal);
        var huge = new string('s', 2_000);
        foreach (var id in new[] { huge, "s%20s", "%C3%A9t%C3%A9", "s%2F..%2Fx", "%3Cscript%3E" })
        {
            foreach (var send in new Func<Task<HttpResponseMessage>>[]
            {
                () => alice.GetAsync($"/api/sessions/{id}"),
                () => alice.GetAsync($"/api/sessions/{id}/turns"),
                () => alice.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "Hello?" }),
                () => alice.GetAsync($"/api/sessions/{id}/memory"),
            })
            {
                var problem = await send().ExpectProblemAsync(HttpStatusCode.NotFound);
                Assert.Equal("Session not found", problem["title"]!.GetValue<string>()); // the answer an unknown id gets
                Assert.True(problem["detail"]!.GetValue<string>().Length < 200, "a hostile id is not echoed whole");
            }
        }

        // Asked of no grain: no session or room was activated for them, not even briefly.
        Assert.DoesNotContain(local.Snapshot(), id => !before.Contains(id) && !SessionIds.CouldExist(id));
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        Assert.Equal(0, await management.GetGrainActivationCount((GrainReference)grains.GetGrain<ISessionGrain>(huge)));
        Assert.Equal(0, await management.GetGrainActivationCount((GrainReference)grains.GetGrain<ISessionRoomGrain>(huge)));
        // Nor is any other 404 an echo of a hostile id: a world, an invite, a create in an unknown world.
        var world = new string('w', 2_000);
        foreach (var send in new Func<Task<HttpResponseMessage>>[]
        {
            () => alice.GetAsync($"/api/worlds/{world}"),
            () => alice.PostJsonAsync($"/api/invites/{world}/join", new { displayName = "Alice" }),
            () => alice.PostJsonAsync("/api/sessions", new { worldId = world }),
        })
        {
            var problem = await send().ExpectProblemAsync(HttpStatusCode.NotFound);
            Assert.True(problem["detail"]!.GetValue<string>().Length < 200, problem["detail"]!.GetValue<string>()[..100]);
        }
        // Unauthenticated, such a route is still a 401 first.
        await app.ClientFor("no-such-key-" + Guid.NewGuid().ToString("N")).GetAsync($"/api/sessions/{huge}").ExpectProblemAsync(HttpStatusCode.Unauthorized);
    }
}
