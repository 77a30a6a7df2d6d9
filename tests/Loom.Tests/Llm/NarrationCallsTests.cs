using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Loom.Llm;
using Loom.Tests.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Llm;

/// <summary>
/// How a turn's narration crosses from the session to the LLM worker: streamed (a grain call per chunk) while someone
/// listens to the session's events, asked for whole (one call) while nobody does.
/// </summary>
public sealed class NarrationCallsTests(NarrationCallsTests.App app) : IClassFixture<NarrationCallsTests.App>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    /// <summary>The embedded LOOM with a silo filter that records every call the LLM worker receives.</summary>
    public sealed class App() : LoomAppFactory(null, new Dictionary<string, string?>
    {
        // Chunks a few milliseconds apart, as a provider sends them: a stream cannot hand them over in one batch.
        ["Loom:Llm:Offline:ChunkDelayMs"] = "3",
        // A rolling summary is due from a session's second turn on.
        ["Loom:Memory:RecentWindowTurns"] = "1",
        ["Loom:Memory:SummaryEveryTurns"] = "1",
    })
    {
        public WorkerCalls Calls => Services.GetRequiredService<WorkerCalls>();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<WorkerCalls>();
                services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<WorkerCalls>());
            });
        }
    }

    public sealed class WorkerCalls : IIncomingGrainCallFilter
    {
        private readonly ConcurrentQueue<string> _calls = new();

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            // Stream's calls arrive through Orleans' enumerator extension, on the worker's activation.
            if (context.TargetContext?.GrainInstance is LlmGrain) _calls.Enqueue(context.InterfaceMethod.Name);
            await context.Invoke();
        }

        public List<string> Take()
        {
            var taken = new List<string>();
            while (_calls.TryDequeue(out var call)) taken.Add(call);
            return taken;
        }
    }

    [Fact]
    public async Task A_turn_nobody_watches_is_one_worker_call_and_keeps_its_whole_narrative()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        app.Calls.Take();

        var turn = await client.PlayAsync(sessionId, "I follow the river north.");

        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.Equal(["Complete"], app.Calls.Take());
        var narrative = turn["narrative"]!.GetValue<string>();
        Assert.True(narrative.Length > 40, narrative);
        Assert.DoesNotContain("loom-memory", narrative);
        Assert.True(turn["usage"]!["completionTokens"]!.GetValue<long>() > 0);
        Assert.False(turn["usage"]!["estimated"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_turn_with_a_summary_due_streams_so_the_summary_starts_at_its_first_text()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I follow the river north.");
        app.Calls.Take();

        var turn = await client.PlayAsync(sessionId, "I cross the ford.");

        // The narration streams: its first text starts the summary behind it (written locally for the offline narrator;
        // a provider's is asked for whole).
        var calls = app.Calls.Take();
        Assert.Contains("MoveNext", calls);
        Assert.DoesNotContain("Complete", calls);
        Assert.Contains(turn["memoryUpdates"]!.AsArray(), u => u!["type"]!.GetValue<string>() == "summary");
    }

    [Fact]
    public async Task A_turn_someone_watches_streams_chunk_by_chunk()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events"),
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sse = new SseReader(new StreamReader(await response.Content.ReadAsStreamAsync()));
        app.Calls.Take();

        await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I light the lamp." }).ExpectAsync(HttpStatusCode.Accepted);
        var events = await sse.UntilAsync("turn.completed", Within);

        var calls = app.Calls.Take();
        Assert.DoesNotContain("Complete", calls);
        Assert.True(calls.Count(c => c == "MoveNext") > 1, string.Join(", ", calls));
        var deltas = events.Where(e => e.Type == "turn.delta").Select(e => JsonNode.Parse(e.Data)!["text"]!.GetValue<string>()).ToList();
        Assert.True(deltas.Count > 1);
        Assert.Equal(string.Concat(deltas).Trim(), JsonNode.Parse(events[^1].Data)!["narrative"]!.GetValue<string>());
    }
}
