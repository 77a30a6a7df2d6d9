using System.Net.Http.Json;
using Loom.Tests.Security;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>After a rollback the page reads the whole live timeline again, past the first page of 200 turns.</summary>
public sealed class RollbackPagingTests
{
    [Fact]
    public async Task A_rollback_in_a_long_story_keeps_every_turn_before_it()
    {
        await using var app = new KestrelLoomApp(apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        var sessionId = await studio.StartSessionAsync("Long story");
        const int played = 203;
        for (var i = 1; i <= played; i++)
        {
            using var answer = await studio.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/turns?wait=true", new { input = $"I take step {i}." });
            answer.EnsureSuccessStatusCode();
        }
        await studio.WaitForFinishedTurnsAsync(played);

        using var rollback = await studio.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/rollback", new { toSeq = played - 1, reason = "one step too far" });
        rollback.EnsureSuccessStatusCode();

        await Assertions.Expect(page.Locator("#story li")).ToHaveCountAsync(played - 1);
        await Assertions.Expect(page.Locator("#story li .you").Last).ToHaveTextAsync($"I take step {played - 1}.");
        Assert.Empty(studio.Errors);
    }
}
