using System.Net;
using Loom.Gateway.Auth;
using Loom.Tests.Api;

namespace Loom.Tests.Security;

/// <summary>Requests per second per key and turns per minute per owner answer 429 problem+json with Retry-After.</summary>
public sealed class RateLimitTests(RateLimitTests.LimitedAppFactory app) : IClassFixture<RateLimitTests.LimitedAppFactory>
{
    public const string AliceSecondKey = "alice-second-key";

    public sealed class LimitedAppFactory() : LoomAppFactory(null, new Dictionary<string, string?>
    {
        ["Loom:Limits:RequestsPerSecond"] = "2",
        ["Loom:Limits:RequestBurst"] = "4",
        ["Loom:Limits:TurnsPerMinute"] = "1",
        ["Loom:Auth:Keys:2:Owner"] = "alice",
        ["Loom:Auth:Keys:2:Sha256"] = CallerResolver.Hash(AliceSecondKey),
    });

    [Fact]
    public async Task A_key_over_its_request_rate_gets_429_with_retry_after_and_other_keys_do_not()
    {
        var bob = app.Bob();
        HttpResponseMessage? limited = null;
        // The bucket holds 4 and refills 2 per second: a quick burst must run dry long before 40.
        for (var i = 0; i < 40 && limited is null; i++)
        {
            var response = await bob.GetAsync("/api/usage");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.NotNull(limited);
        var problem = await Task.FromResult(limited).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limited", problem["code"]!.GetValue<string>());
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 5);

        // Partitioned by key: another caller is not slowed by bob.
        await app.Alice().GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_owner_over_turns_per_minute_gets_429_on_any_of_its_keys()
    {
        var alice = app.Alice();
        var session = await alice.CreateSessionAsync();
        await alice.PostJsonAsync($"/api/sessions/{session}/turns", new { input = "I open the door." }).ExpectAsync(HttpStatusCode.Accepted);

        // Another key of the same owner (a fresh request bucket): the owner's turn budget is spent.
        var second = app.ClientFor(AliceSecondKey);
        var response = await second.PostJsonAsync($"/api/sessions/{session}/turns", new { input = "I close it again." });
        var problem = await Task.FromResult(response).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limited", problem["code"]!.GetValue<string>());
        Assert.Contains("turns per minute", problem["detail"]!.GetValue<string>());
        // One turn a minute: the next is up to a minute away (the request limiter would say 1 s).
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 30, 60);
        // Reads are not turns.
        await second.GetAsync($"/api/sessions/{session}/turns").ExpectAsync(HttpStatusCode.OK);
        // A rework calls the narrator as a turn does: it counts too.
        var turns = await second.GetAsync($"/api/sessions/{session}/turns").ExpectAsync(HttpStatusCode.OK);
        var first = turns["items"]![0]!["turnId"]!.GetValue<string>();
        var rework = await second.PostAsync($"/api/sessions/{session}/turns/{first}/regenerate", null);
        Assert.Equal("rate_limited", (await Task.FromResult(rework).ExpectProblemAsync(HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
    }
}
