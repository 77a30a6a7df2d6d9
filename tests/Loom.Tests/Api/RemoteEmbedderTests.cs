using System.Net;
using Loom.Tests.Stubs;

namespace Loom.Tests.Api;

/// <summary>A gateway configured with a remote embedder (<c>Loom:Memory:Embedder</c>: OpenAI-compatible <c>/v1/embeddings</c>
/// or Ollama's <c>/api/embed</c>) embeds memory and search queries through it over HTTP, and vector search answers from those vectors.</summary>
public sealed class RemoteEmbedderTests
{
    [Theory]
    [InlineData("openai")]
    [InlineData("ollama")]
    public async Task Memory_is_embedded_and_searched_through_a_remote_embeddings_endpoint(string provider)
    {
        await using var stub = await EmbeddingStubServer.StartAsync();
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Memory:Embedder:Provider"] = provider,
            ["Loom:Memory:Embedder:Endpoint"] = (provider == "ollama" ? stub.Root : stub.Endpoint).ToString(),
            ["Loom:Memory:Embedder:Model"] = "stub-embed-1",
        });
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(sessionId, "I look around the quay. [EDIT: character: add: name=Mira, description=a smuggler who owes me money]");

        var hits = await client.PostJsonAsync($"/api/sessions/{sessionId}/memory/search", new { query = "smuggler owes money", mode = "vector", limit = 3 })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.True(hits["items"]![0]!["entity"]!["name"]!.GetValue<string>() == "Mira", hits.ToJsonString() + turn.ToJsonString());
        Assert.NotEmpty(stub.Requests);
        Assert.All(stub.Requests, r => Assert.Equal("stub-embed-1", r.Model));
        Assert.Contains(stub.Requests, r => r.Inputs >= 1);
    }

    [Fact]
    public async Task A_slow_embedder_does_not_hold_up_the_turn_and_its_vectors_arrive_after_it()
    {
        await using var stub = await EmbeddingStubServer.StartAsync();
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Memory:Embedder:Provider"] = "openai",
            ["Loom:Memory:Embedder:Endpoint"] = stub.Endpoint.ToString(),
            ["Loom:Memory:Embedder:Model"] = "stub-embed-1",
        });
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        stub.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // the embedder hangs

        var turn = await client.PlayAsync(sessionId, "I look around the quay. [EDIT: character: add: name=Mira, description=a smuggler who owes me money]");
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.DoesNotContain(turn["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains("embedding", StringComparison.Ordinal));
        Assert.Empty(stub.Requests); // nothing was embedded yet: the turn did not wait for it

        stub.Gate.SetResult();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (stub.Requests.IsEmpty && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.False(stub.Requests.IsEmpty, "the background refresh never reached the embedder");
        var hits = await client.PostJsonAsync($"/api/sessions/{sessionId}/memory/search", new { query = "smuggler owes money", mode = "vector", limit = 3 })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Mira", hits["items"]![0]!["entity"]!["name"]!.GetValue<string>());
    }
}
