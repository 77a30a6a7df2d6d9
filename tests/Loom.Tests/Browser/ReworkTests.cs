using Loom.Tests.Security;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>
/// Regenerate and edit-and-resend on the Play page against a narrator slow enough to act while it narrates: a stopped
/// rework leaves the scene as it was (docs/api.md: a failed attempt leaves the turn as it was), a failed latest turn can
/// be narrated again, and a new take streams in place of the old one.
/// </summary>
public sealed class ReworkTests
{
    [Fact]
    public async Task A_stopped_regenerate_leaves_the_scene_as_it_was()
    {
        await using var app = new KestrelLoomApp(StudioPage.SlowNarrator, apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        await studio.StartSessionAsync("Stopped take");
        await studio.SendAsync("I climb the bell tower.");
        await studio.WaitForFinishedTurnsAsync(1);
        var turn = page.Locator("#story li").First;
        await Assertions.Expect(turn.Locator(".turn-meta")).ToContainTextAsync("completed");
        var scene = await turn.Locator(".narrative").TextContentAsync();
        Assert.False(string.IsNullOrWhiteSpace(scene));

        // A new take starts streaming in place of the scene; the player stops it.
        await studio.Button("Regenerate").ClickAsync();
        await Assertions.Expect(turn.Locator(".narrative.streaming")).Not.ToBeEmptyAsync();
        await Assertions.Expect(turn.Locator(".narrative")).Not.ToHaveTextAsync(scene!);
        await studio.Button("Stop").ClickAsync();

        // The scene is back as it was, completed; the stop is told as a notice, not as the turn's failure.
        await Assertions.Expect(turn.Locator(".narrative:not(.streaming)")).ToHaveTextAsync(scene!);
        await Assertions.Expect(turn.Locator(".turn-meta")).ToContainTextAsync("completed");
        await Assertions.Expect(turn.Locator(".failed")).ToBeEmptyAsync();
        await Assertions.Expect(turn.Locator(".notice")).ToContainTextAsync("Stopped before the narrator finished");
        await Assertions.Expect(studio.Button("Regenerate")).ToBeEnabledAsync();
        await Assertions.Expect(studio.Button("Continue")).ToBeEnabledAsync();
        await Assertions.Expect(studio.Button("Stop")).ToBeHiddenAsync();
        Assert.Empty(studio.Errors);
    }

    [Fact]
    public async Task A_failed_latest_turn_can_be_regenerated_and_resent()
    {
        await using var app = new KestrelLoomApp(StudioPage.SlowNarrator, apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        await studio.StartSessionAsync("Failed turn");
        await studio.SendAsync("I climb the bell tower.");
        var turn = page.Locator("#story li").First;
        await Assertions.Expect(turn.Locator(".narrative.streaming")).Not.ToBeEmptyAsync();
        await studio.Button("Stop").ClickAsync();
        await Assertions.Expect(turn.Locator(".failed")).ToContainTextAsync("Stopped before the narrator finished");

        // The API narrates a failed latest turn again (regenerate, resend); only continuing it is refused.
        await Assertions.Expect(studio.Button("Regenerate")).ToBeEnabledAsync();
        await Assertions.Expect(studio.Button("Edit and resend")).ToBeEnabledAsync();
        await Assertions.Expect(studio.Button("Continue")).ToBeDisabledAsync();
        await studio.Button("Regenerate").ClickAsync();
        await Assertions.Expect(turn.Locator(".turn-meta")).ToContainTextAsync("completed");
        await Assertions.Expect(turn.Locator(".failed")).ToBeEmptyAsync();
        Assert.False(string.IsNullOrWhiteSpace(await turn.Locator(".narrative").TextContentAsync()));
        Assert.Equal("", await page.Locator("#error").TextContentAsync());
        Assert.Empty(studio.Errors);
    }

    [Fact]
    public async Task A_resend_streams_its_new_take_in_place_of_the_old_one()
    {
        await using var app = new KestrelLoomApp(StudioPage.SlowNarrator, apiKeys: false);
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress);
        var page = studio.Page;
        await studio.StartSessionAsync("Resent");
        await studio.SendAsync("I climb the bell tower.");
        await studio.WaitForFinishedTurnsAsync(1);
        var turn = page.Locator("#story li").First;
        var old = (await turn.Locator(".narrative").TextContentAsync())!;

        // Every text the narration shows is recorded.
        await page.EvaluateAsync(@"() => {
            const narrative = document.querySelector('#story li .narrative');
            window.shown = [];
            new MutationObserver(() => window.shown.push(narrative.textContent)).observe(narrative, { childList: true, characterData: true, subtree: true });
        }");
        // The resend's answer (queued) comes only after the new take's first words are on the page.
        await page.RouteAsync("**/turns/*/resend", async route =>
        {
            var response = await route.FetchAsync();
            await StudioPage.WaitUntilAsync(async () =>
            {
                var text = await turn.Locator(".narrative").TextContentAsync();
                return !string.IsNullOrEmpty(text) && text != old;
            });
            await route.FulfillAsync(new() { Response = response });
        });
        await studio.Button("Edit and resend").ClickAsync();
        await page.FillAsync("#input", "I climb the bell tower and ring the bell.");
        await studio.Button("Resend").ClickAsync();
        await Assertions.Expect(turn.Locator(".turn-meta")).ToContainTextAsync("alternative 2/2");
        await Assertions.Expect(turn.Locator(".narrative.streaming")).ToHaveCountAsync(0);
        await Assertions.Expect(turn.Locator(".you")).ToHaveTextAsync("I climb the bell tower and ring the bell.");

        // Once the old scene gave way, each text shown was the start of the new take: nothing of the old one, nothing
        // lost or shown twice.
        var final = (await turn.Locator(".narrative").TextContentAsync())!;
        var shown = await page.EvaluateAsync<string[]>("() => window.shown");
        var streamed = shown.SkipWhile(text => text == old).ToList();
        Assert.NotEmpty(streamed);
        Assert.All(streamed, text => Assert.StartsWith(text.TrimEnd(), final, StringComparison.Ordinal));
        Assert.Empty(studio.Errors);
    }
}
