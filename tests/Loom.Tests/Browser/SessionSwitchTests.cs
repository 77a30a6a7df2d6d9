using Loom.Tests.Security;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>
/// Opening another session leaves nothing of the one before on the page: not its live events, not a slower answer
/// for a session clicked earlier, not the entity in the memory editor, not the edit-and-resend mode.
/// </summary>
public sealed class SessionSwitchTests
{
    [Fact]
    public async Task Events_of_the_session_left_never_show_in_the_one_opened()
    {
        await using var app = new KestrelLoomApp(StudioPage.SlowNarrator, apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        var quiet = await studio.StartSessionAsync("Quiet");
        var busy = await studio.StartSessionAsync("Busy");

        // Busy narrates a turn; the page shows its first words.
        await studio.SendAsync("I climb the bell tower.");
        var narrating = page.Locator("#story li .narrative.streaming");
        await Assertions.Expect(narrating).Not.ToBeEmptyAsync();
        var turnId = await page.Locator("#story li").First.GetAttributeAsync("data-turn");

        // Quiet opens while Busy's turn goes on; its turns are read slowly (held until Busy's turn has finished), so
        // every event of Busy's turn would reach the page while Quiet is on it.
        await page.RouteAsync(url => url.Contains($"/api/sessions/{quiet}/turns"), async route =>
        {
            await StudioPage.WaitUntilAsync(async () => await studio.TurnStatusAsync(busy, turnId!) == "completed");
            await route.ContinueAsync();
        });
        var quietWatched = page.WaitForRequestAsync(r => r.Url.Contains($"/api/sessions/{quiet}/events"));
        await studio.ClickSessionAsync("Quiet");
        await quietWatched;

        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("Quiet");
        Assert.Equal(0, await page.Locator("#story li").CountAsync());
        Assert.DoesNotContain("bell tower", await page.Locator("#panel-play").TextContentAsync());
        await Assertions.Expect(studio.Button("Stop")).ToBeHiddenAsync();
        Assert.Empty(studio.Errors);
    }

    [Fact]
    public async Task Of_two_quick_clicks_the_last_session_clicked_stays_open()
    {
        await using var app = new KestrelLoomApp(apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        var first = await studio.StartSessionAsync("First");
        var second = await studio.StartSessionAsync("Second");
        await studio.ClickSessionAsync("First");
        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("First");

        // The read of Second is slow: First, clicked after it, opens meanwhile; then Second's answer arrives.
        var release = new TaskCompletionSource();
        await page.RouteAsync(url => url.EndsWith($"/api/sessions/{second}", StringComparison.Ordinal), async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });
        var held = page.WaitForRequestAsync(r => r.Url.EndsWith($"/api/sessions/{second}", StringComparison.Ordinal));
        await studio.ClickSessionAsync("Second");
        await held;
        var firstWatched = page.WaitForRequestAsync(r => r.Url.Contains($"/api/sessions/{first}/events"));
        await studio.ClickSessionAsync("First");
        await firstWatched;

        var late = page.WaitForRequestFinishedAsync(new() { Predicate = r => r.Url.EndsWith($"/api/sessions/{second}", StringComparison.Ordinal) });
        release.SetResult();
        await late;
        // Let the page run what the late answer set off (its promise jobs come before these two timer turns).
        await page.EvaluateAsync("() => new Promise((r) => setTimeout(() => setTimeout(r, 0), 0))");

        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("First");
        Assert.Equal(first, await page.EvaluateAsync<string>("() => localStorage.getItem('loom.session')"));
        Assert.Empty(studio.Errors);
    }

    [Fact]
    public async Task Another_session_opened_clears_the_memory_editor()
    {
        await using var app = new KestrelLoomApp(apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        await studio.StartSessionAsync("Empty");
        await studio.StartSessionAsync("Remembered");
        await studio.SendAsync("I light a lantern and walk to the old mill.");
        await studio.WaitForFinishedTurnsAsync(1);

        // An entity of Remembered is open in the memory editor.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Memory" }).ClickAsync();
        await page.Locator("#memory-list button[data-entity]").First.ClickAsync();
        await Assertions.Expect(page.Locator("#memory-edit")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#mem-name")).Not.ToHaveValueAsync("");

        // Empty opens (the sidebar goes back to Play): its memory editor holds nothing of Remembered to save into it.
        await studio.ClickSessionAsync("Empty");
        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("Empty");
        await page.GetByRole(AriaRole.Tab, new() { Name = "Memory" }).ClickAsync();
        await Assertions.Expect(page.Locator("#memory-session")).ToContainTextAsync("Empty");
        await Assertions.Expect(page.Locator("#memory-edit")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#memory-detail")).ToBeEmptyAsync();
        await Assertions.Expect(page.Locator("#mem-name")).ToHaveValueAsync("");
        Assert.Empty(studio.Errors);
    }

    [Fact]
    public async Task Another_session_opened_ends_edit_and_resend()
    {
        await using var app = new KestrelLoomApp(apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        await studio.StartSessionAsync("Other");
        await studio.StartSessionAsync("Edited");
        await studio.SendAsync("I light a lantern.");
        await studio.WaitForFinishedTurnsAsync(1);
        await studio.Button("Edit and resend").ClickAsync();
        await Assertions.Expect(page.Locator("#input")).ToHaveValueAsync("I light a lantern.");
        await Assertions.Expect(studio.Button("Resend")).ToBeVisibleAsync();

        // Other opens: the box is for a new action there, not a resend of Edited's turn.
        await studio.ClickSessionAsync("Other");
        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("Other");
        await Assertions.Expect(studio.Button("Send")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#input")).ToHaveValueAsync("");
        await studio.SendAsync("I walk to the harbour.");
        await studio.WaitForFinishedTurnsAsync(1);
        await Assertions.Expect(page.Locator("#story li .you")).ToHaveTextAsync("I walk to the harbour.");
        Assert.Equal("", await page.Locator("#error").TextContentAsync());
        Assert.Empty(studio.Errors);
    }
}
