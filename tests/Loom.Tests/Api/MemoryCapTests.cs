using System.Net;
using System.Net.Http.Json;

namespace Loom.Tests.Api;

/// <summary>The API with a session memory of at most three live entities through edits.</summary>
public sealed class MemoryCapAppFactory() : LoomAppFactory(null, new Dictionary<string, string?> { ["Loom:Memory:MaxEntities"] = "3" });

/// <summary>Edits cannot grow a session's memory without bound: new ids past the cap are refused, changes are not.</summary>
public sealed class MemoryCapTests(MemoryCapAppFactory app) : IClassFixture<MemoryCapAppFactory>
{
    [Fact]
    public async Task New_entities_past_the_cap_are_409_memory_full_while_updates_and_deletes_still_work()
    {
        var client = app.Alice();
        var memory = $"/api/sessions/{await client.CreateSessionAsync()}/memory";
        Task<HttpResponseMessage> Put(string slug, string content) =>
            client.PutAsync($"{memory}/fact:{slug}", JsonContent.Create(new { type = "fact", name = slug.Replace('-', ' '), content }));

        foreach (var slug in new[] { "one", "two", "three" }) await Put(slug, "kept").ExpectAsync(HttpStatusCode.OK);
        var full = await Put("four", "refused").ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("memory_full", full["code"]!.GetValue<string>());
        await client.GetAsync($"{memory}/fact:four").ExpectProblemAsync(HttpStatusCode.NotFound);

        await Put("two", "changed").ExpectAsync(HttpStatusCode.OK);
        (await client.DeleteAsync($"{memory}/fact:one")).EnsureSuccessStatusCode();
        await Put("four", "now there is room").ExpectAsync(HttpStatusCode.OK);
        var items = (await client.GetAsync(memory).ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal(["fact:four", "fact:three", "fact:two"], items.Select(e => e!["entityId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
    }
}
