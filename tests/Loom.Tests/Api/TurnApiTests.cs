using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Loom.Tests.Api;

public sealed class TurnApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task A_turn_is_queued_then_narrated_by_the_offline_narrator()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var response = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I light a lantern and walk to the old mill." });
        var accepted = await Task.FromResult(response).ExpectAsync(HttpStatusCode.Accepted);
        Assert.Equal("queued", accepted["status"]!.GetValue<string>());
        Assert.Equal(1, accepted["seq"]!.GetValue<int>());
        var turnId = accepted["turnId"]!.GetValue<string>();
        Assert.Equal($"/api/sessions/{sessionId}/turns/{turnId}", response.Headers.Location?.OriginalString);

        var done = await client.PollAsync($"/api/sessions/{sessionId}/turns/{turnId}", t => t["status"]!.GetValue<string>() == "completed");
        Assert.False(string.IsNullOrWhiteSpace(done["narrative"]!.GetValue<string>()));
        Assert.Equal("offline", done["provider"]!.GetValue<string>());
        Assert.True(done["usage"]!["promptTokens"]!.GetValue<long>() > 0);
        Assert.NotNull(done["startedAt"]);
        Assert.NotNull(done["completedAt"]);

        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, session["turnCount"]!.GetValue<int>());
        Assert.Equal(0, session["pendingTurns"]!.GetValue<int>());
    }

    [Fact]
    public async Task Wait_true_answers_200_with_the_finished_turn()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync("hollow-stars");
        var turn = await client.PlayAsync(sessionId, "I check the reactor readings.");
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.NotEmpty(turn["narrative"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_same_idempotency_key_never_makes_a_second_turn()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var key = Guid.NewGuid().ToString();
        var first = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I knock twice." }, key).ExpectAsync(HttpStatusCode.Accepted);
        var again = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I knock twice." }, key)));
        foreach (var r in again)
        {
            Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK);
            Assert.Equal(first["turnId"]!.GetValue<string>(), (await r.ReadJsonAsync())["turnId"]!.GetValue<string>());
        }
        await client.PollAsync($"/api/sessions/{sessionId}", s => s["turnCount"]!.GetValue<int>() == 1 && s["pendingTurns"]!.GetValue<int>() == 0);

        // The key reused for another input is not a retry: refused, and neither turn is lost or doubled.
        var reused = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I walk away." }, key)
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("idempotency_key_reused", reused["code"]!.GetValue<string>());
        var turns = await client.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK);
        Assert.Single(turns["items"]!.AsArray());
        Assert.Equal("I knock twice.", turns["items"]![0]!["input"]!.GetValue<string>());
    }

    [Fact]
    public async Task Concurrent_submits_run_one_at_a_time_in_order()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        const int N = 20;
        var responses = await Task.WhenAll(Enumerable.Range(1, N).Select(i =>
            client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = $"Step {i}: I move on." }, $"k-{i}")));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        await client.PollAsync($"/api/sessions/{sessionId}", s => s["turnCount"]!.GetValue<int>() == N, TimeSpan.FromSeconds(90));
        var turns = (await client.GetAsync($"/api/sessions/{sessionId}/turns?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal(Enumerable.Range(1, N), turns.Select(t => t!["seq"]!.GetValue<int>()));
        for (var i = 1; i < turns.Count; i++)
        {
            var previousDone = turns[i - 1]!["completedAt"]!.GetValue<DateTime>();
            var started = turns[i]!["startedAt"]!.GetValue<DateTime>();
            Assert.True(started >= previousDone, $"turn {i + 1} started {started:O} before turn {i} completed {previousDone:O}");
        }
    }

    [Fact]
    public async Task Listing_pages_through_the_timeline_with_a_cursor()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        for (var i = 1; i <= 5; i++) await client.PlayAsync(sessionId, $"Turn {i}.");
        var page1 = await client.GetAsync($"/api/sessions/{sessionId}/turns?limit=2").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(new[] { 1, 2 }, page1["items"]!.AsArray().Select(t => t!["seq"]!.GetValue<int>()));
        var next = page1["next"]!.GetValue<string>();
        var page2 = await client.GetAsync($"/api/sessions/{sessionId}/turns?limit=2&after={next}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(new[] { 3, 4 }, page2["items"]!.AsArray().Select(t => t!["seq"]!.GetValue<int>()));
        var page3 = await client.GetAsync($"/api/sessions/{sessionId}/turns?limit=2&after={page2["next"]!.GetValue<string>()}").ExpectAsync(HttpStatusCode.OK);
        Assert.Single(page3["items"]!.AsArray());
        Assert.Null(page3["next"]);
    }

    [Fact]
    public async Task Inline_markers_are_recorded_and_removed_from_the_story_text()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(sessionId, "I open the door. (OOC: is this the right way?) [TONE: darker]");
        var types = turn["interventions"]!.AsArray().Select(i => i!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("ooc", types);
        Assert.Contains("tone", types);
        Assert.DoesNotContain("OOC", turn["storyInput"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bad_turn_input_gets_clear_400s_and_stores_nothing()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var empty = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "   " }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(empty["errors"]!["input"]);
        var tooLong = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = new string('x', 8001) }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(tooLong["errors"]!["input"]);
        await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { text = "wrong field" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostAsync($"/api/sessions/{sessionId}/turns", new StringContent("{\"input\": ", Encoding.UTF8, "application/json"))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        var noBody = await client.PostAsync($"/api/sessions/{sessionId}/turns", new StringContent("", Encoding.UTF8, "application/json"))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("A JSON body is required.", noBody["detail"]!.GetValue<string>());
        var wrongShape = await client.PostAsync($"/api/sessions/{sessionId}/turns", new StringContent("[1]", Encoding.UTF8, "application/json"))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("The body is not valid JSON for this request", wrongShape["detail"]!.GetValue<string>());
        await client.PostAsync($"/api/sessions/{sessionId}/turns", new StringContent("input=hi", Encoding.UTF8, "application/x-www-form-urlencoded"))
            .ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        await client.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true&timeout=500", new { input = "hi" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        var huge = new StringContent("{\"input\":\"" + new string('a', 3 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json");
        await client.PostAsync($"/api/sessions/{sessionId}/turns", huge).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, session["turnCount"]!.GetValue<int>());
        Assert.Equal(0, session["pendingTurns"]!.GetValue<int>());
        Assert.Empty((await client.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray());
    }

    [Fact]
    public async Task Unknown_ids_are_404()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.GetAsync($"/api/sessions/{sessionId}/turns/t99-zzzzzz").ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.GetAsync($"/api/sessions/{sessionId}/turns/garbage").ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.PostJsonAsync("/api/sessions/snope/turns", new { input = "hello" }).ExpectProblemAsync(HttpStatusCode.NotFound);
    }
}
