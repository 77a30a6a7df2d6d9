using System.Net;
using System.Text.Json.Nodes;
using Loom.Tests.Stubs;

namespace Loom.Tests.Api;

/// <summary>
/// Memory reads show committed turns only: a running turn's marker edits and the narrator's changes appear once the
/// turn commits, and never when it fails.
/// </summary>
public sealed class MemoryReadIsolationTests : IAsyncLifetime
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
            ["Loom:Llm:Resilience:MaxRetries"] = "0",
        });
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    private static string Answer(string mood) =>
        "Odessa Vane looks up from the lamp.\n\n```loom-memory\n" +
        "{\"ops\":[{\"op\":\"upsert\",\"type\":\"character\",\"name\":\"Odessa Vane\",\"content\":\"The lighthouse keeper.\"," +
        $"\"attributes\":{{\"mood\":\"{mood}\"}}}}]}}\n```";

    [Fact]
    public async Task A_running_turns_changes_are_not_read_before_it_commits()
    {
        // Turn 2 edits the world by marker (applied before the narrator is asked) and its answer changes the keeper.
        var (client, sessionId, memory, turnId, release) =
            await HoldSecondTurnAsync(StubReply.Ok(Answer("angry")), "[EDIT: fact: the bridge is out] I wait by the lamp.");

        await client.GetAsync($"{memory}/fact:the-bridge-is-out").ExpectAsync(HttpStatusCode.NotFound);
        var listed = await client.GetAsync($"{memory}?type=fact").ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(listed["items"]!.AsArray());
        var found = await client.PostJsonAsync($"{memory}/search", new { query = "bridge", mode = "keyword" }).ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(found["items"]!.AsArray());

        release.SetResult();
        await client.PollAsync($"/api/sessions/{sessionId}/turns/{turnId}", t => t["status"]!.GetValue<string>() == "completed");
        await client.GetAsync($"{memory}/fact:the-bridge-is-out").ExpectAsync(HttpStatusCode.OK);
        var keeper = await client.GetAsync($"{memory}/character:odessa-vane").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("angry", keeper["attributes"]!["mood"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failed_turns_edit_is_never_read()
    {
        var (client, sessionId, memory, turnId, release) =
            await HoldSecondTurnAsync(StubReply.Error(400, "the stub refuses"), "[EDIT: Odessa Vane: mood=furious] I shout.");

        var during = await client.GetAsync($"{memory}/character:odessa-vane").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("guarded", during["attributes"]!["mood"]!.GetValue<string>());
        var listed = await client.GetAsync($"{memory}?type=character").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("guarded", listed["items"]![0]!["attributes"]!["mood"]!.GetValue<string>());

        release.SetResult();
        await client.PollAsync($"/api/sessions/{sessionId}/turns/{turnId}", t => t["status"]!.GetValue<string>() == "failed");
        var after = await client.GetAsync($"{memory}/character:odessa-vane").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("guarded", after["attributes"]!["mood"]!.GetValue<string>());
    }

    /// <summary>A session whose first turn met the keeper (mood "guarded"), and a second turn sent with
    /// <paramref name="input"/>, its narrator's <paramref name="reply"/> held until release is set.</summary>
    private async Task<(HttpClient Client, string SessionId, string Memory, string TurnId, TaskCompletionSource Release)> HoldSecondTurnAsync(
        StubReply reply, string input)
    {
        var client = _app.Alice();
        var sessionId = await client.CreateSessionAsync(extra: new { llm = new { provider = "openai" } });
        _stub.Enqueue(StubReply.Ok(Answer("guarded")));
        await client.PlayAsync(sessionId, "I climb the lighthouse stairs.");

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _stub.Enqueue(reply with { Gate = release.Task });
        var submitted = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input }).ExpectAsync(HttpStatusCode.Accepted);
        await WaitUntilAsync(() => _stub.RequestCount >= 2);
        return (client, sessionId, $"/api/sessions/{sessionId}/memory", submitted["turnId"]!.GetValue<string>(), release);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The narrator was not asked in time.");
            await Task.Delay(20);
        }
    }
}
