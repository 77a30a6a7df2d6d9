using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Loom.Tests.Api;
using Loom.Tests.Stubs;

namespace Loom.Tests.Lore;

/// <summary>
/// Lore end to end: published with the canon, chosen per turn, seen in the prompt the provider receives, recorded on
/// the turn, and its timed effects following the timeline through rollback and fork.
/// </summary>
public sealed class LoreApiTests : IAsyncLifetime
{
    private OpenAiStubServer _stub = null!;
    private LoomAppFactory _app = null!;

    public async Task InitializeAsync()
    {
        _stub = await OpenAiStubServer.StartAsync();
        _app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Llm:Providers:openai:Endpoint"] = _stub.Endpoint.ToString(),
            ["Loom:Llm:Providers:openai:Model"] = "stub-model",
        });
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    private const string WorldText = "# World\nSaltmere is a harbour city of fog and salt, built on old stone.\n\n# Tone\nQuiet, tense, wet; small kindnesses matter a great deal.\n";
    private const string MiraText = "Mira, the harbour girl, keeps the silver key to the sea gate.";
    private const string FogText = "FOG-RULE: the fog hides everything beyond ten paces.";

    private static object Files(string mira) => new
    {
        files = new Dictionary<string, string>
        {
            ["world.md"] = WorldText,
            ["lore/mira.md"] = mira,
            ["lore/fog.md"] = $"---\nconstant: true\nposition: before_canon\n---\n{FogText}\n",
        },
    };

    private List<string> PromptOf(int request) =>
        JsonNode.Parse(_stub.Requests.ElementAt(request).Body)!["messages"]!.AsArray().Select(m => m!["content"]!.GetValue<string>()).ToList();

    private static string[] LoreOf(JsonNode turn) =>
        turn["lore"]!.AsArray().Select(f => $"{f!["entry"]!.GetValue<string>()}:{f["reason"]!.GetValue<string>()}").ToArray();

    [Fact]
    public async Task Published_lore_reaches_the_prompt_and_sticky_follows_rollback_and_fork()
    {
        var client = _app.Alice();
        var published = await client.PutAsJsonAsync("/api/worlds/lore-e2e", Files($"---\nkeys: [Mira]\nsticky: 1\n---\n{MiraText}\n"))
            .ExpectAsync(HttpStatusCode.Created);
        Assert.DoesNotContain(published["sections"]!.AsArray(), s => s!["file"]!.GetValue<string>().StartsWith("lore/", StringComparison.Ordinal));
        var sessionId = await client.CreateSessionAsync("lore-e2e", new { llm = new { provider = "openai" } });

        var first = await client.PlayAsync(sessionId, "I look for Mira on the quay.");
        var prompt = PromptOf(0);
        Assert.Equal(FogText, prompt[0]); // before the canon
        Assert.Contains("=== CANON", prompt[1]);
        Assert.DoesNotContain(MiraText, prompt[1]); // lore is not canon text
        Assert.Equal(MiraText, prompt[2]); // verbatim, right after the canon
        Assert.Equal(["lore/mira.md:key", "lore/fog.md:constant"], LoreOf(first).OrderByDescending(x => x).ToArray());
        Assert.Equal("Mira", first["lore"]!.AsArray().Single(f => f!["entry"]!.GetValue<string>() == "lore/mira.md")!["key"]!.GetValue<string>());

        // The context viewer: what went into turn 1's prompt and why.
        var context = (await client.GetAsync($"/api/sessions/{sessionId}/turns/{first["turnId"]!.GetValue<string>()}/context")
            .ExpectAsync(HttpStatusCode.OK))["context"]!;
        Assert.Equal(("lore-e2e", 1), (context["worldId"]!.GetValue<string>(), context["canonVersion"]!.GetValue<int>()));
        Assert.Equal("Mira", context["lore"]!.AsArray().Single(f => f!["entry"]!.GetValue<string>() == "lore/mira.md")!["key"]!.GetValue<string>());
        Assert.Equal("I look for Mira on the quay.", context["input"]!.GetValue<string>());
        var tokens = context["tokens"]!;
        Assert.InRange(tokens["lore"]!.GetValue<int>(), 10, tokens["loreBudget"]!.GetValue<int>());
        Assert.Equal(tokens["canon"]!.GetValue<int>() + tokens["lore"]!.GetValue<int>() + tokens["context"]!.GetValue<int>()
            + tokens["recentTurns"]!.GetValue<int>() + tokens["opening"]!.GetValue<int>() + tokens["input"]!.GetValue<int>(), tokens["total"]!.GetValue<int>());
        Assert.Empty(context["recentTurns"]!.AsArray());
        await client.GetAsync($"/api/sessions/{sessionId}/turns/t-nope/context").ExpectProblemAsync(HttpStatusCode.NotFound);
        await _app.Bob().GetAsync($"/api/sessions/{sessionId}/turns/{first["turnId"]!.GetValue<string>()}/context").ExpectProblemAsync(HttpStatusCode.NotFound);

        var second = await client.PlayAsync(sessionId, "I wait by the water.");
        var secondContext = (await client.GetAsync($"/api/sessions/{sessionId}/turns/{second["turnId"]!.GetValue<string>()}/context")
            .ExpectAsync(HttpStatusCode.OK))["context"]!;
        Assert.Equal([1], secondContext["recentTurns"]!.AsArray().Select(n => n!.GetValue<int>()));
        Assert.Contains(secondContext["lore"]!.AsArray(), f => f!["reason"]!.GetValue<string>() == "sticky");
        Assert.Contains("lore/mira.md:sticky", LoreOf(second));
        Assert.Contains(MiraText, PromptOf(1));

        var third = await client.PlayAsync(sessionId, "I wait some more.");
        Assert.DoesNotContain(LoreOf(third), l => l.StartsWith("lore/mira.md", StringComparison.Ordinal));
        Assert.DoesNotContain(MiraText, PromptOf(2));

        // Roll back to turn 1: turn 2 is retconned, so the entry is sticky again for the new turn 2.
        await client.PostJsonAsync($"/api/sessions/{sessionId}/rollback", new { toSeq = 1, reason = "try again" }).ExpectAsync(HttpStatusCode.OK);
        var replayed = await client.PlayAsync(sessionId, "I wait by the water again.");
        Assert.Equal(2, replayed["seq"]!.GetValue<int>());
        Assert.Contains("lore/mira.md:sticky", LoreOf(replayed));

        // A fork at turn 1 carries the activation with the turn.
        var fork = await client.PostJsonAsync($"/api/sessions/{sessionId}/fork", new { atSeq = 1 }).ExpectAsync(HttpStatusCode.Created);
        var forked = await client.PlayAsync(fork["sessionId"]!.GetValue<string>(), "In the fork, I wait.");
        Assert.Contains("lore/mira.md:sticky", LoreOf(forked));

        // A new version changes the entry; the diff shows it, and the running session stays pinned to version 1.
        await client.PutAsJsonAsync("/api/worlds/lore-e2e", Files("---\nkeys: [Mira]\n---\nMira is gone.\n")).ExpectAsync(HttpStatusCode.OK);
        var diff = await client.GetAsync("/api/worlds/lore-e2e/diff?from=1&to=2").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("modified", diff["files"]!.AsArray().Single(f => f!["file"]!.GetValue<string>() == "lore/mira.md")!["status"]!.GetValue<string>());
        await client.PlayAsync(sessionId, "Mira?");
        Assert.Contains(MiraText, PromptOf(_stub.RequestCount - 1));
    }

    [Fact]
    public async Task An_invalid_lore_entry_is_422_naming_the_file_and_nothing_is_stored()
    {
        var client = _app.Alice();
        var problem = await client.PutAsJsonAsync("/api/worlds/lore-bad", Files("---\nkeys: ['/([/']\n---\nText\n"))
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(problem["errors"]!["files/lore/mira.md"]);
        await client.GetAsync("/api/worlds/lore-bad").ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_session_opens_with_the_chosen_greeting_seen_by_the_narrator_as_the_first_narration()
    {
        var client = _app.Alice();
        await client.PutAsJsonAsync("/api/worlds/lore-greet", new
        {
            files = new Dictionary<string, string>
            {
                ["world.md"] = WorldText,
                ["card/greeting-0.md"] = "Late ferry again?",
                ["card/greeting-1.md"] = "Who's there, in the fog?",
            },
        }).ExpectAsync(HttpStatusCode.Created);
        await client.PostJsonAsync("/api/sessions", new { worldId = "lore-greet", greeting = 2 }).ExpectProblemAsync(HttpStatusCode.BadRequest);

        var session = await client.PostJsonAsync("/api/sessions", new { worldId = "lore-greet", greeting = 1, llm = new { provider = "openai" } })
            .ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("Who's there, in the fog?", session["opening"]!.GetValue<string>());
        var sessionId = session["sessionId"]!.GetValue<string>();
        var before = _stub.RequestCount;
        await client.PlayAsync(sessionId, "It's me, from the ferry.");
        var messages = JsonNode.Parse(_stub.Requests.ElementAt(before).Body)!["messages"]!.AsArray();
        Assert.Equal("assistant", messages[^2]!["role"]!.GetValue<string>());
        Assert.Equal("Who's there, in the fog?", messages[^2]!["content"]!.GetValue<string>());
        Assert.Equal("It's me, from the ferry.", messages[^1]!["content"]!.GetValue<string>());

        var fork = await client.PostJsonAsync($"/api/sessions/{sessionId}/fork", new { atSeq = 1 }).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("Who's there, in the fog?", fork["opening"]!.GetValue<string>());
        var plain = await client.PostJsonAsync("/api/sessions", new { worldId = "lore-greet" }).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("Late ferry again?", plain["opening"]!.GetValue<string>());
    }
}
