using System.Net;
using Loom.Tests.Api;

namespace Loom.Tests.Providers;

/// <summary>A daily cap of $0.0002 against turns of $0.00009375: two turns fit, the third would not.</summary>
public sealed class BudgetAppFixture : ProviderAppFixture
{
    protected override void Tune(Dictionary<string, string?> settings) => settings["Loom:Budgets:DailyUsd"] = "0.0002";
}

public sealed class BudgetApiTests(BudgetAppFixture fixture) : IClassFixture<BudgetAppFixture>
{
    [Fact]
    public async Task A_turn_that_would_pass_the_daily_cap_is_refused_with_429_before_any_llm_call()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        Assert.Equal("completed", (await client.PlayAsync(sessionId, "One."))["status"]!.GetValue<string>());
        Assert.Equal("completed", (await client.PlayAsync(sessionId, "Two."))["status"]!.GetValue<string>());
        var calls = fixture.OpenAi.RequestCount;

        var response = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "Three." });
        var problem = await Task.FromResult(response).ExpectProblemAsync(HttpStatusCode.TooManyRequests);

        Assert.Equal("budget_exceeded", problem["code"]!.GetValue<string>());
        Assert.Contains("daily", problem["detail"]!.GetValue<string>());
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        Assert.Equal(calls, fixture.OpenAi.RequestCount);
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((2, 0), (session["turnCount"]!.GetValue<int>(), session["pendingTurns"]!.GetValue<int>()));
        var usage = await client.GetAsync("/api/usage").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0.0002m, usage["budget"]!["dailyUsd"]!.GetValue<decimal>());
        Assert.True(usage["day"]!["usage"]!["costUsd"]!.GetValue<decimal>() <= 0.0002m);
        var today = usage["days"]!.AsArray()[^1]!;
        Assert.Equal((usage["day"]!["period"]!.GetValue<string>(), 2), (today["period"]!.GetValue<string>(), today["turns"]!.GetValue<int>()));

        // Another owner has their own budget.
        var bob = fixture.App.Bob();
        var bobs = await bob.CreateSessionAsync();
        Assert.Equal("completed", (await bob.PlayAsync(bobs, "Hello."))["status"]!.GetValue<string>());
    }
}
