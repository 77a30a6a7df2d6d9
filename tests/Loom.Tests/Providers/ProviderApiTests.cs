using System.Net;
using System.Net.Http.Json;
using Loom.Tests.Api;
using Loom.Tests.Stubs;

namespace Loom.Tests.Providers;

/// <summary>Provider choice, fallbacks, failures and cost end to end through the gateway (stubs on loopback).</summary>
public sealed class ProviderApiTests(ProviderAppFixture fixture) : IClassFixture<ProviderAppFixture>
{
    private const decimal OpenAiTurnCost = 0.00009375m; // (8 * 2.5 + 3 * 1.25 + 7 * 10) / 1e6
    // Anthropic reports cache reads apart from input_tokens; the total prompt is 11 + 3 = 14: (14 * 1 + 7 * 5) / 1e6.
    private const decimal AnthropicTurnCost = 0.000049m;

    [Fact]
    public async Task A_5xx_storm_on_the_primary_falls_back_and_the_turn_records_provider_attempts_and_cost()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        fixture.OpenAi.Default = StubReply.Error(503, "storm");
        var openAiBefore = fixture.OpenAi.RequestCount;
        var anthropicBefore = fixture.Anthropic.RequestCount;

        var turn = await client.PlayAsync(sessionId, "I ring the bell at the gate.");
        fixture.Reset();

        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.Equal("Hello from the stub narrator.", turn["narrative"]!.GetValue<string>());
        Assert.Equal("anthropic", turn["provider"]!.GetValue<string>());
        Assert.Equal(1, turn["fallbacks"]!.GetValue<int>());
        Assert.Equal(1, turn["retries"]!.GetValue<int>());
        Assert.Equal(AnthropicTurnCost, turn["usage"]!["costUsd"]!.GetValue<decimal>());
        Assert.Equal(2, fixture.OpenAi.RequestCount - openAiBefore);
        Assert.Equal(1, fixture.Anthropic.RequestCount - anthropicBefore);

        var next = await client.PlayAsync(sessionId, "I wait for an answer.");
        Assert.Equal(("openai", 0), (next["provider"]!.GetValue<string>(), next["fallbacks"]!.GetValue<int>()));
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, session["turnCount"]!.GetValue<int>());
        Assert.Equal(AnthropicTurnCost + OpenAiTurnCost, session["usage"]!["costUsd"]!.GetValue<decimal>());
        Assert.Equal(14 + 11, session["usage"]!["promptTokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_401_fails_the_turn_clearly_without_fallback_and_the_session_plays_on()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        fixture.OpenAi.Default = StubReply.Error(401, "bad key");
        var fallbackBefore = fixture.Anthropic.RequestCount + fixture.Ollama.RequestCount;

        var failed = await client.PlayAsync(sessionId, "I show my papers.");
        fixture.Reset();

        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("llm_unauthorized", failed["error"]!["code"]!.GetValue<string>());
        Assert.Contains("401", failed["error"]!["message"]!.GetValue<string>());
        Assert.DoesNotContain("secret", failed.ToJsonString());
        Assert.Equal("", failed["narrative"]!.GetValue<string>());
        Assert.Equal(fallbackBefore, fixture.Anthropic.RequestCount + fixture.Ollama.RequestCount);

        var ok = await client.PlayAsync(sessionId, "I show my papers again.");
        Assert.Equal("completed", ok["status"]!.GetValue<string>());
        Assert.Equal(2, ok["seq"]!.GetValue<int>());
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((1, 0), (session["turnCount"]!.GetValue<int>(), session["pendingTurns"]!.GetValue<int>()));
        Assert.Equal(OpenAiTurnCost, session["usage"]!["costUsd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task A_reset_mid_stream_fails_the_turn_without_spliced_or_partial_text()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        fixture.OpenAi.Enqueue(StubReply.ResetAfter(2));
        var fallbackBefore = fixture.Anthropic.RequestCount + fixture.Ollama.RequestCount;

        var failed = await client.PlayAsync(sessionId, "I climb the tower.");

        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("llm_stream_broken", failed["error"]!["code"]!.GetValue<string>());
        Assert.Equal("", failed["narrative"]!.GetValue<string>());
        Assert.Equal(fallbackBefore, fixture.Anthropic.RequestCount + fixture.Ollama.RequestCount);
        var turns = await client.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("failed", Assert.Single(turns["items"]!.AsArray())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sessions_choose_provider_and_model_and_unknown_ones_are_refused_at_create()
    {
        fixture.Reset();
        var client = fixture.App.Alice();

        var problem = await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", llm = new { provider = "openai", model = "gpt-imaginary" } })
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("llm_model_unknown", problem["code"]!.GetValue<string>());
        Assert.NotNull(problem["errors"]!["llm.model"]);
        await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", llm = new { provider = "mistral" } })
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);

        var large = await client.CreateSessionAsync(extra: new { llm = new { provider = "openai", model = "stub-model-large" } });
        var ollama = await client.CreateSessionAsync(extra: new { llm = new { provider = "ollama", model = "llama-stub", temperature = 0.2 } });
        var ollamaBefore = fixture.Ollama.RequestCount;

        var first = await client.PlayAsync(large, "I look around.");
        var second = await client.PlayAsync(ollama, "I look around.");

        Assert.Equal(("openai", "stub-model-large"), (first["provider"]!.GetValue<string>(), first["model"]!.GetValue<string>()));
        Assert.Equal(0m, first["usage"]!["costUsd"]!.GetValue<decimal>()); // no price configured for that model
        Assert.Equal("ollama", second["provider"]!.GetValue<string>());
        Assert.Equal(1, fixture.Ollama.RequestCount - ollamaBefore);
        Assert.Equal("llama-stub", fixture.Ollama.Requests.Last().Model);
    }

    [Fact]
    public async Task Owner_usage_adds_up_every_committed_turn()
    {
        fixture.Reset();
        var client = fixture.App.Bob();
        var before = await client.GetAsync("/api/usage").ExpectAsync(HttpStatusCode.OK);
        var sessionId = await client.CreateSessionAsync();

        await client.PlayAsync(sessionId, "One.");
        await client.PlayAsync(sessionId, "Two.");

        var after = await client.GetAsync("/api/usage").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("bob", after["ownerId"]!.GetValue<string>());
        Assert.Equal(2, after["turns"]!.GetValue<int>() - before["turns"]!.GetValue<int>());
        Assert.Equal(2 * OpenAiTurnCost, after["total"]!["costUsd"]!.GetValue<decimal>() - before["total"]!["costUsd"]!.GetValue<decimal>());
        Assert.Equal(after["total"]!["costUsd"]!.GetValue<decimal>(), after["day"]!["usage"]!["costUsd"]!.GetValue<decimal>());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM"), after["month"]!["period"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_world_can_name_its_default_narrator_and_sessions_still_choose_their_own()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        const string canon = """
            ---
            title: Ollama Isle
            llm.provider: ollama
            llm.model: island-model
            ---
            # World
            A small island where the tide comes in twice a day and the ferry rarely runs.

            # Tone
            Quiet, salty, wry.
            """;
        await client.PutAsJsonAsync("/api/worlds/ollama-isle", new { files = new Dictionary<string, string> { ["world.md"] = canon } })
            .ExpectAsync(HttpStatusCode.Created);

        var byWorld = await client.PostJsonAsync("/api/sessions", new { worldId = "ollama-isle" }).ExpectAsync(HttpStatusCode.Created);
        var own = await client.PostJsonAsync("/api/sessions", new { worldId = "ollama-isle", llm = new { provider = "openai" } }).ExpectAsync(HttpStatusCode.Created);

        Assert.Equal(("ollama", "island-model"), (byWorld["llm"]!["provider"]!.GetValue<string>(), byWorld["llm"]!["model"]!.GetValue<string>()));
        Assert.Equal(("openai", "stub-model"), (own["llm"]!["provider"]!.GetValue<string>(), own["llm"]!["model"]!.GetValue<string>()));
        var turn = await client.PlayAsync(byWorld["sessionId"]!.GetValue<string>(), "I wait for the ferry.");
        Assert.Equal("ollama", turn["provider"]!.GetValue<string>());
        Assert.Equal("island-model", fixture.Ollama.Requests.Last().Model);
    }

    [Fact]
    public async Task A_continuation_is_narrated_under_the_tone_its_turn_set()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I walk to the harbour. [TONE: bleak]");
        var turn = await client.PlayAsync(sessionId, "I step into the tavern. [TONE: noir and rain-soaked]");
        var before = fixture.OpenAi.RequestCount;

        var continued = await client.PostAsync($"/api/sessions/{sessionId}/turns/{turn["turnId"]!.GetValue<string>()}/continue?wait=true&timeout=60", null)
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("completed", continued["status"]!.GetValue<string>());
        var request = Assert.Single(fixture.OpenAi.Requests.Skip(before));
        Assert.Contains("noir and rain-soaked", request.Body);
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("noir and rain-soaked", session["tone"]!.GetValue<string>());
    }

    [Fact]
    public async Task Temperature_and_max_tokens_are_lowered_to_each_providers_range_and_the_operators_limit()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var anthropic = await client.CreateSessionAsync(extra: new { llm = new { provider = "anthropic", temperature = 1.5, maxTokens = 70_000 } });
        var llm = (await client.ExportAsync(anthropic))["llm"]!; // the settings in force (the Session shape shows provider and model)
        Assert.Equal((1.0, 64_000), (llm["temperature"]!.GetValue<double>(), llm["maxTokens"]!.GetValue<int>()));
        var openAi = await client.CreateSessionAsync(extra: new { llm = new { provider = "openai", temperature = 1.5 } });
        Assert.Equal(1.5, (await client.ExportAsync(openAi))["llm"]!["temperature"]!.GetValue<double>());

        var zero = await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", llm = new { provider = "openai", maxTokens = 0 } })
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(zero["errors"]!["llm.maxTokens"]);
        var hot = await client.PostJsonAsync("/api/sessions", new { worldId = "ember-vale", llm = new { provider = "openai", temperature = 2.5 } })
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(hot["errors"]!["llm.temperature"]);
    }
}
