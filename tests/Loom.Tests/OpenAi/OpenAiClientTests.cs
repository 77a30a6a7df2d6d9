using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Loom.Tests.Api;
using Loom.Tests.Security;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Loom.Tests.OpenAi;

/// <summary>
/// LOOM behind .NET's own OpenAI-compatible client (<c>Microsoft.Extensions.AI.OpenAI</c> over the official <c>OpenAI</c>
/// package) against the real gateway on Kestrel: models, non-streaming and streaming play, resending the whole
/// conversation, regenerating, editing the past, and OpenAI-shaped errors.
/// </summary>
public sealed class OpenAiClientTests(OpenAiApp app) : IClassFixture<OpenAiApp>
{
    private const string Model = "loom/ember-vale";

    private IChatClient Chat(string session, string key = LoomAppFactory.AliceKey, string model = Model)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add("X-Loom-Session", session);
        var client = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(app.BaseAddress, "/v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
        return client.GetChatClient(model).AsIChatClient();
    }

    private static string NewName() => "chat-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The session a name stands for, found through the REST API (it is listed as the caller's).</summary>
    private async Task<string> SessionIdAsync(string name)
    {
        var page = await app.Client().GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);
        return page["items"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == name)!["sessionId"]!.GetValue<string>();
    }

    [Fact]
    public async Task Models_are_the_worlds_the_key_may_play()
    {
        var client = new OpenAIClient(new ApiKeyCredential(LoomAppFactory.AliceKey), new OpenAIClientOptions { Endpoint = new Uri(app.BaseAddress, "/v1") });
        var models = (await client.GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Contains(models, m => m.Id == Model);
        Assert.All(models, m => Assert.StartsWith("loom/", m.Id));
    }

    [Fact]
    public async Task A_whole_conversation_resent_each_time_makes_one_turn_per_new_message()
    {
        var name = NewName();
        var chat = Chat(name);
        List<ChatMessage> conversation = [new(ChatRole.System, "You are my narrator."), new(ChatRole.User, "I light a lantern and walk to the old mill.")];

        var first = await chat.GetResponseAsync(conversation);
        Assert.False(string.IsNullOrWhiteSpace(first.Text));
        Assert.True(first.Usage?.InputTokenCount > 0 && first.Usage.OutputTokenCount > 0);
        conversation.AddRange(first.Messages);
        conversation.Add(new(ChatRole.User, "I push open the mill door."));

        // Streaming this time: the chunks make the same narrative the session stored.
        var streamed = new StringBuilder();
        await foreach (var update in chat.GetStreamingResponseAsync(conversation)) streamed.Append(update.Text);

        var id = await SessionIdAsync(name);
        var turns = await app.Client().TurnsAsync(id);
        Assert.Equal(["I light a lantern and walk to the old mill.", "I push open the mill door."], turns.Select(t => t["input"]!.GetValue<string>()));
        Assert.Equal(first.Text, turns[0]["narrative"]!.GetValue<string>());
        Assert.Equal(turns[1]["narrative"]!.GetValue<string>(), streamed.ToString());
        Assert.All(turns, t => Assert.Equal("completed", t["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Resending_the_same_conversation_regenerates_the_last_reply_without_a_new_turn()
    {
        var name = NewName();
        var chat = Chat(name);
        List<ChatMessage> conversation = [new(ChatRole.User, "I knock on the inn's door.")];
        var first = await chat.GetResponseAsync(conversation);
        var again = await chat.GetResponseAsync(conversation);
        Assert.False(string.IsNullOrWhiteSpace(again.Text));

        var id = await SessionIdAsync(name);
        var all = await app.Client().TurnsAsync(id, includeRetconned: true);
        var turn = Assert.Single(all);
        Assert.Equal(again.Text, turn["narrative"]!.GetValue<string>());
        // The replaced reply is kept as the turn's first alternative (a swipe back in LOOM's own API brings it back).
        var alternatives = turn["alternatives"]!;
        Assert.Equal((2, 2), (alternatives["count"]!.GetValue<int>(), alternatives["chosen"]!.GetValue<int>()));
        Assert.Equal(first.Text, alternatives["items"]![0]!["narrative"]!.GetValue<string>());
    }

    [Fact]
    public async Task Editing_an_earlier_message_rolls_the_story_back_to_it()
    {
        var name = NewName();
        var chat = Chat(name);
        List<ChatMessage> conversation = [new(ChatRole.User, "I climb the watchtower.")];
        conversation.AddRange((await chat.GetResponseAsync(conversation)).Messages);
        conversation.Add(new(ChatRole.User, "I ring the bell."));
        conversation.AddRange((await chat.GetResponseAsync(conversation)).Messages);
        conversation.Add(new(ChatRole.User, "I wave at the riders."));
        await chat.GetResponseAsync(conversation);

        // The player edits "I ring the bell." (the client drops what came after it, as chat front ends do).
        List<ChatMessage> edited = [.. conversation.Take(2), new(ChatRole.User, "I light the beacon instead.")];
        var answer = await chat.GetResponseAsync(edited);

        var id = await SessionIdAsync(name);
        var live = await app.Client().TurnsAsync(id);
        Assert.Equal(["I climb the watchtower.", "I light the beacon instead."], live.Select(t => t["input"]!.GetValue<string>()));
        Assert.Equal(answer.Text, live[1]["narrative"]!.GetValue<string>());
        var audit = await app.Client().AuditAsync(id);
        Assert.Contains(audit, a => a["action"]!.GetValue<string>() == "rollback" && a["seq"]?.GetValue<int>() == 1);

        // Changing a reply LOOM wrote while keeping what follows cannot be mapped onto the story: a clear 409.
        List<ChatMessage> rewritten = [edited[0], new(ChatRole.Assistant, "Something LOOM never said."), edited[1], new(ChatRole.Assistant, answer.Text), new(ChatRole.User, "I wait.")];
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(rewritten));
        Assert.Equal(409, refused.Status);
        Assert.Contains("conversation_diverged", refused.Message);
        // The SDK is told not to resend it (it would otherwise, twice by default).
        Assert.True(refused.GetRawResponse()!.Headers.TryGetValue("x-should-retry", out var retry));
        Assert.Equal("false", retry);
        Assert.Equal(2, (await app.Client().TurnsAsync(id)).Count);
    }

    [Fact]
    public async Task A_world_that_forbids_retcons_refuses_an_edit_of_the_past_with_403()
    {
        var world = "fixed-" + Guid.NewGuid().ToString("N")[..6];
        const string canon = "---\ntitle: Fixed Harbour\nretconAllowed: false\n---\n# World\nA grey harbour town.\n\n# Tone\nQuiet.\n";
        await app.Client().PutAsJsonAsync($"/api/worlds/{world}", new { files = new Dictionary<string, string> { ["world.md"] = canon } })
            .ExpectAsync(HttpStatusCode.Created);
        var chat = Chat(NewName(), model: "loom/" + world);
        List<ChatMessage> conversation = [new(ChatRole.User, "I walk the pier.")];
        await chat.GetResponseAsync(conversation);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync([new(ChatRole.User, "I walk the beach instead.")]));
        Assert.Equal(403, refused.Status);
    }

    [Fact]
    public async Task Errors_under_v1_have_OpenAI_shape_and_the_rest_keeps_problem_json()
    {
        using var anonymous = app.Client(apiKey: null);
        var body = new { model = Model, user = NewName(), messages = new[] { new { role = "user", content = "Hello" } } };

        await AssertOpenAiErrorAsync(await anonymous.PostAsJsonAsync("/v1/chat/completions", body), 401, "authentication_error", null);
        var alice = app.Client();
        var unknownModel = await AssertOpenAiErrorAsync(
            await alice.PostAsJsonAsync("/v1/chat/completions", body with { model = "loom/no-such-world" }), 404, "invalid_request_error", null);
        Assert.Equal("model_not_found", unknownModel["code"]!.GetValue<string>());
        var hostileModel = await AssertOpenAiErrorAsync(
            await alice.PostAsJsonAsync("/v1/chat/completions", body with { model = "loom/" + new string('x', 5_000) }), 404, "invalid_request_error", null);
        Assert.True(hostileModel["message"]!.GetValue<string>().Length < 300, "a hostile model name is not echoed whole");
        await AssertOpenAiErrorAsync(await alice.PostAsJsonAsync("/v1/chat/completions", new { model = Model, messages = body.messages }), 400, "invalid_request_error", "user");
        var sessionsBefore = (await alice.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count;
        await AssertOpenAiErrorAsync(await alice.PostAsJsonAsync("/v1/chat/completions",
            new { model = Model, user = NewName(), messages = new[] { new { role = "assistant", content = "Hi" } } }), 400, "invalid_request_error", "messages");
        await AssertOpenAiErrorAsync(await alice.PostAsJsonAsync("/v1/chat/completions",
            new { model = Model, user = NewName(), messages = new[] { new { role = "user", content = new string('x', 9_000) } } }), 400, "invalid_request_error", "input");
        // A refused first request leaves no session behind under its name.
        Assert.Equal(sessionsBefore, (await alice.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count);
        await AssertOpenAiErrorAsync(await alice.PostAsync("/v1/chat/completions", new StringContent("{", Encoding.UTF8, "application/json")), 400, "invalid_request_error", null);
        await AssertOpenAiErrorAsync(await alice.GetAsync("/v1/nothing-here"), 404, "invalid_request_error", null);

        // The same name is another session for another owner; Alice's session is not Bob's, and /api keeps problem+json.
        await Chat(body.user).GetResponseAsync([new(ChatRole.User, "Hello")]);
        await Chat(body.user, LoomAppFactory.BobKey).GetResponseAsync([new(ChatRole.User, "Hello")]);
        var alices = Conversations.ConversationIds.SessionId("alice", body.user);
        Assert.NotEqual(alices, Conversations.ConversationIds.SessionId("bob", body.user));
        var bobs = await app.Client(LoomAppFactory.BobKey).GetAsync("/api/sessions/" + alices);
        Assert.Equal(HttpStatusCode.NotFound, bobs.StatusCode);
        Assert.Equal("application/problem+json", bobs.Content.Headers.ContentType?.MediaType);
        Assert.Single(await app.Client().TurnsAsync(alices));
    }

    private static async Task<JsonNode> AssertOpenAiErrorAsync(HttpResponseMessage response, int status, string type, string? param)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.Equal(type, error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.NotNull(error["code"]);
        Assert.DoesNotContain("   at ", text);
        return error;
    }
}

/// <summary>The gateway on Kestrel for OpenAI clients, which need a real socket.</summary>
public sealed class OpenAiApp() : KestrelLoomApp();

/// <summary>A streamed request sent again while its turn is still narrating (a client that lost its connection).</summary>
public sealed class OpenAiAttachTests
{
    [Fact]
    public async Task The_same_streamed_request_again_mid_narration_gets_the_whole_reply()
    {
        await using var app = new KestrelLoomApp(new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "100" });
        using var client = app.Client();
        var body = new { model = "loom/ember-vale", user = "attach-" + Guid.NewGuid().ToString("N")[..8], stream = true,
            messages = new[] { new { role = "user", content = "I light a lantern and walk to the old mill." } } };

        static async Task<(HttpResponseMessage Response, IAsyncEnumerator<string> Content)> OpenAsync(HttpClient client, object body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (response, Contents(new StreamReader(await response.Content.ReadAsStreamAsync())).GetAsyncEnumerator());
        }

        // The first connection reads a few chunks of the reply, then drops.
        var (first, firstContent) = await OpenAsync(client, body);
        var seen = 0;
        while (seen < 4 && await firstContent.MoveNextAsync()) if (firstContent.Current.Length > 0) seen++;
        Assert.Equal(4, seen);
        var sessionId = first.Headers.GetValues("X-Loom-Session").Single();
        await firstContent.DisposeAsync();
        first.Dispose();

        var (second, secondContent) = await OpenAsync(client, body);
        using var _ = second;
        Assert.Equal("attached", second.Headers.GetValues("X-Loom-Action").Single());
        var reply = new StringBuilder();
        while (await secondContent.MoveNextAsync()) reply.Append(secondContent.Current);

        var turns = await app.Client().TurnsAsync(sessionId);
        var turn = Assert.Single(turns);
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.Equal(turn["narrative"]!.GetValue<string>(), reply.ToString());
    }

    /// <summary>The content of each chunk of an OpenAI stream, until [DONE].</summary>
    private static async IAsyncEnumerable<string> Contents(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line["data: ".Length..];
            if (data == "[DONE]") yield break;
            var chunk = JsonNode.Parse(data)!;
            if (chunk["choices"] is JsonArray { Count: > 0 } choices && choices[0]!["delta"]?["content"] is JsonValue content)
                yield return content.GetValue<string>();
        }
    }
}
