using System.Net;
using Loom.Tests.Stubs;

namespace Loom.Tests.Api;

/// <summary>A gateway configured with an OpenAI-compatible embedder (<c>Loom:Memory:Embedder</c>) embeds memory and
/// search queries through it over HTTP, and vector search answers from those vectors.</summary>
public sealed class RemoteEmbedderTests
{
    [Fact]
    public async Task Memory_is_embedded_and_searched_through_an_OpenAI_compatible_embeddings_endpoint()
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
        var turn = await client.PlayAsync(sessionId, "I look around the quay. [EDIT: character: add: name=Mira, description=a smuggler who owes me money]");

        var hits = await client.PostJsonAsync($"/api/sessions/{sessionId}/memory/search", new { query = "smuggler owes money", mode = "vector", limit = 3 })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.True(hits["items"]![0]!["entity"]!["name"]!.GetValue<string>() == "Mira", hits.ToJsonString() + turn.ToJsonString());
        Assert.NotEmpty(stub.Requests);
        Assert.All(stub.Requests, r => Assert.Equal("stub-embed-1", r.Model));
        Assert.Contains(stub.Requests, r => r.Inputs >= 1);
    }
}
