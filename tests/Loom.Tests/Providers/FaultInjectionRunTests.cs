using System.Globalization;
using System.Net;
using Loom.Tests.Api;
using Loom.Tests.Stubs;
using Xunit.Abstractions;

namespace Loom.Tests.Providers;

/// <summary>Tight limits so the run also exercises timeouts and the per-silo concurrency limiter.</summary>
public sealed class FaultRunFixture : ProviderAppFixture
{
    protected override void Tune(Dictionary<string, string?> settings)
    {
        settings["Loom:Llm:RequestTimeout"] = "00:00:01.500";
        settings["Loom:Llm:Resilience:AttemptTimeout"] = "00:00:01.500";
        settings["Loom:Llm:Resilience:MaxConcurrency"] = "1";
        settings["Loom:Llm:Resilience:QueueLimit"] = "0";
    }
}

/// <summary>
/// A scripted fault-injection run through the gateway: every turn meets one fault (or none), and afterwards
/// the session, its usage and the owner's totals must add up exactly. Prints the figures for docs/llm-providers.md.
/// </summary>
public sealed class FaultInjectionRunTests(FaultRunFixture fixture, ITestOutputHelper output) : IClassFixture<FaultRunFixture>
{
    private enum Fault { None, RateLimitedOnce, StormToAnthropic, SlowToAnthropic, MalformedMidStream, ResetMidStream, Unauthorized, StormToOllama }

    [Fact]
    public async Task Every_fault_ends_in_a_clear_final_state_and_the_books_balance()
    {
        fixture.Reset();
        var client = fixture.App.Bob();
        // Warm every SDK so the 1.5 s timeouts only meet the scripted slowness.
        foreach (var provider in new[] { "openai", "anthropic", "ollama" })
        {
            var warm = await client.CreateSessionAsync(extra: new { llm = new { provider } });
            Assert.Equal("completed", (await client.PlayAsync(warm, "Warm up."))["status"]!.GetValue<string>());
        }

        var usageBefore = await client.GetAsync("/api/usage").ExpectAsync(HttpStatusCode.OK);
        var requestsBefore = (fixture.OpenAi.RequestCount, fixture.Anthropic.RequestCount, fixture.Ollama.RequestCount);
        var sessionId = await client.CreateSessionAsync();
        var faults = Enum.GetValues<Fault>();
        const int turnsPlanned = 32;
        var turns = new List<(Fault Fault, System.Text.Json.Nodes.JsonNode Turn)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < turnsPlanned; i++)
        {
            var fault = faults[i % faults.Length];
            Script(fault);
            var turn = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true&timeout=60", new { input = $"Turn {i + 1}: I press on." })
                .ExpectAsync(HttpStatusCode.OK);
            turns.Add((fault, turn));
            Expect(fault, turn);
        }

        var elapsed = clock.Elapsed;
        var completed = turns.Where(t => t.Turn["status"]!.GetValue<string>() == "completed").ToList();
        var failed = turns.Where(t => t.Turn["status"]!.GetValue<string>() == "failed").ToList();
        var retries = turns.Sum(t => t.Turn["retries"]!.GetValue<int>());
        var fallbacks = turns.Sum(t => t.Turn["fallbacks"]!.GetValue<int>());
        var cost = completed.Sum(t => t.Turn["usage"]!["costUsd"]!.GetValue<decimal>());

        // The session is intact: every turn on the timeline in order, nothing pending, usage = sum of completed turns.
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((completed.Count, 0), (session["turnCount"]!.GetValue<int>(), session["pendingTurns"]!.GetValue<int>()));
        Assert.Equal(cost, session["usage"]!["costUsd"]!.GetValue<decimal>());
        var listed = await client.GetAsync($"/api/sessions/{sessionId}/turns?limit=200").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(Enumerable.Range(1, turnsPlanned), listed["items"]!.AsArray().Select(t => t!["seq"]!.GetValue<int>()));
        Assert.All(failed, t => Assert.Equal("", t.Turn["narrative"]!.GetValue<string>()));
        Assert.All(completed, t => Assert.Equal("Hello from the stub narrator.", t.Turn["narrative"]!.GetValue<string>()));
        var usageAfter = await client.GetAsync("/api/usage").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(cost, usageAfter["total"]!["costUsd"]!.GetValue<decimal>() - usageBefore["total"]!["costUsd"]!.GetValue<decimal>());

        var requests = (fixture.OpenAi.RequestCount - requestsBefore.Item1, fixture.Anthropic.RequestCount - requestsBefore.Item2,
            fixture.Ollama.RequestCount - requestsBefore.Item3);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fault run: {turnsPlanned} turns attempted, {completed.Count} completed, {failed.Count} failed, {fallbacks} fallbacks, {retries} retries, cost ${cost} in {elapsed.TotalSeconds:0.0} s"));
        output.WriteLine($"provider requests: openai {requests.Item1}, anthropic {requests.Item2}, ollama {requests.Item3}");
        foreach (var group in turns.GroupBy(t => t.Fault))
        {
            var t = group.First().Turn;
            output.WriteLine($"  {group.Key,-20} x{group.Count()}: {t["status"]} via {t["provider"]} (retries {t["retries"]}, fallbacks {t["fallbacks"]}) {t["error"]?["code"]}");
        }

        Assert.Equal(turnsPlanned, completed.Count + failed.Count);
        Assert.Equal(turnsPlanned / faults.Length * 3, failed.Count);
    }

    [Fact]
    public async Task Turns_beyond_every_providers_concurrency_limit_wait_and_complete_rather_than_fail()
    {
        fixture.Reset();
        fixture.OpenAi.Default = StubReply.Slow(TimeSpan.FromMilliseconds(400));
        fixture.Anthropic.Default = StubReply.Slow(TimeSpan.FromMilliseconds(400));
        fixture.Ollama.Default = StubReply.Slow(TimeSpan.FromMilliseconds(400));
        try
        {
            var client = fixture.App.Alice();
            var sessions = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => client.CreateSessionAsync()));

            var turns = await Task.WhenAll(sessions.Select(s => client.PlayAsync(s, "All at once.")));

            Assert.All(turns, t => Assert.Equal("completed", t["status"]!.GetValue<string>()));
            // One slot per provider and no queue: at most three run at once, the rest waited their turn.
            Assert.True(turns.Any(t => t["fallbacks"]!.GetValue<int>() > 0), "some turns moved to a free provider");
        }
        finally
        {
            fixture.Reset();
        }
    }

    private void Script(Fault fault)
    {
        switch (fault)
        {
            case Fault.RateLimitedOnce:
                fixture.OpenAi.Enqueue(StubReply.Error(429, "slow down", retryAfterSeconds: 0));
                break;
            case Fault.StormToAnthropic:
                fixture.OpenAi.Enqueue(StubReply.Error(503), StubReply.Error(502));
                break;
            case Fault.SlowToAnthropic:
                fixture.OpenAi.Enqueue(StubReply.Slow(TimeSpan.FromSeconds(5)), StubReply.Slow(TimeSpan.FromSeconds(5)));
                break;
            case Fault.MalformedMidStream:
                fixture.OpenAi.Enqueue(StubReply.Malformed() with { Text = "one two three four five six" });
                break;
            case Fault.ResetMidStream:
                fixture.OpenAi.Enqueue(StubReply.ResetAfter(2));
                break;
            case Fault.Unauthorized:
                fixture.OpenAi.Enqueue(StubReply.Error(401, "bad key"));
                break;
            case Fault.StormToOllama:
                fixture.OpenAi.Enqueue(StubReply.Error(500), StubReply.Error(500));
                fixture.Anthropic.Enqueue(StubReply.Error(529), StubReply.Error(529));
                break;
        }
    }

    private static void Expect(Fault fault, System.Text.Json.Nodes.JsonNode turn)
    {
        var status = turn["status"]!.GetValue<string>();
        var provider = turn["provider"]?.GetValue<string>();
        var (wantStatus, wantProvider, wantRetries, wantFallbacks, wantCode) = fault switch
        {
            Fault.None => ("completed", "openai", 0, 0, null),
            Fault.RateLimitedOnce => ("completed", "openai", 1, 0, null),
            Fault.StormToAnthropic => ("completed", "anthropic", 1, 1, null),
            Fault.SlowToAnthropic => ("completed", "anthropic", 1, 1, null),
            Fault.MalformedMidStream => ("failed", "openai", 0, 0, "llm_stream_broken"),
            Fault.ResetMidStream => ("failed", "openai", 0, 0, "llm_stream_broken"),
            Fault.Unauthorized => ("failed", "openai", 0, 0, "llm_unauthorized"),
            Fault.StormToOllama => ("completed", "ollama", 2, 2, (string?)null),
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        Assert.True(
            status == wantStatus && (wantStatus == "failed" || provider == wantProvider)
            && turn["retries"]!.GetValue<int>() == wantRetries && turn["fallbacks"]!.GetValue<int>() == wantFallbacks
            && turn["error"]?["code"]?.GetValue<string>() == wantCode,
            $"{fault}: {turn.ToJsonString()}");
    }
}
