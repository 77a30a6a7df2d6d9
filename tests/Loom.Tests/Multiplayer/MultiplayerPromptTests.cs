using System.Net;
using System.Text.Json.Nodes;
using Loom.Tests.Api;
using Loom.Tests.Stubs;

namespace Loom.Tests.Multiplayer;

/// <summary>What the narrator is sent in a shared session: who plays (names and personas), attributed inputs, and no side chat.</summary>
public sealed class MultiplayerPromptTests
{
    [Fact]
    public async Task The_prompt_names_the_players_with_their_personas_and_attributes_each_input()
    {
        await using var stub = await OpenAiStubServer.StartAsync();
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Llm:Providers:openai:Endpoint"] = stub.Endpoint.ToString(),
            ["Loom:Llm:Providers:openai:Model"] = "stub-model",
        });
        stub.Default = StubReply.Ok("The gate groans open.");
        var alice = app.Alice();
        var sessionId = await alice.CreateSessionAsync(extra: new { llm = new { provider = "openai" } });
        var invite = await alice.PostJsonAsync($"/api/sessions/{sessionId}/invites", new { role = "player" }).ExpectAsync(HttpStatusCode.Created);
        await app.Bob().PostJsonAsync($"/api/invites/{invite["code"]!.GetValue<string>()}/join",
            new { displayName = "Bran", persona = "A hedge knight with a broken oath." }).ExpectAsync(HttpStatusCode.OK);
        await alice.PostJsonAsync($"/api/sessions/{sessionId}/chat", new { text = "secret-table-talk" }).ExpectAsync(HttpStatusCode.OK);

        await alice.PlayAsync(sessionId, "I open the gate.");
        await app.Bob().PlayAsync(sessionId, "I ride through.");

        var body = stub.Requests.Last(r => r.Body.Contains("I ride through.", StringComparison.Ordinal)).Body;
        var messages = JsonNode.Parse(body)!["messages"]!.AsArray();
        Assert.Equal("Bran: I ride through.", messages[^1]!["content"]!.GetValue<string>());
        Assert.Contains(messages, m => m!["content"]!.GetValue<string>() == "alice: I open the gate.");
        Assert.Contains("- Bran: A hedge knight with a broken oath.", body);
        Assert.DoesNotContain("secret-table-talk", string.Join("\n", stub.Requests.Select(r => r.Body)));
    }
}
