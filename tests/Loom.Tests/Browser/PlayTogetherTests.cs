using Loom.Tests.Api;
using Loom.Tests.Security;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>
/// Two people in one story, each in their own browser context with their own API key (as a reverse proxy or a
/// browser extension would add it): Alice invites, Bob joins with the code, both see each other online, Bob's
/// turn reaches Alice's page attributed to him, and the side chat goes both ways without entering the story; in host
/// mode Bob's action goes to Alice as a proposal, which she accepts into the story.
/// </summary>
public sealed class PlayTogetherTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_players_in_two_browsers_play_one_story_and_chat_aside()
    {
        await using var app = new KestrelLoomApp();
        var baseUrl = app.BaseAddress.ToString();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var alice = await OpenAsync(browser, baseUrl, LoomAppFactory.AliceKey);
        var bob = await OpenAsync(browser, baseUrl, LoomAppFactory.BobKey);

        // Alice starts a story and invites.
        await Assertions.Expect(alice.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);
        await alice.SelectOptionAsync("#world", "ember-vale");
        await alice.FillAsync("#session-name", "Together");
        await alice.ClickAsync("#start");
        await Assertions.Expect(alice.Locator("#session-title")).ToHaveTextAsync("Together");
        await alice.ClickAsync("#invite");
        await Assertions.Expect(alice.Locator("#invite-code")).ToContainTextAsync("Invite code:");
        var code = await alice.Locator("#invite-code").GetAttributeAsync("data-code");

        // Bob joins with the code and his name; both pages list both players online.
        await bob.FillAsync("#join-code", code!);
        await bob.FillAsync("#join-name", "Bran");
        await bob.FillAsync("#join-persona", "A hedge knight.");
        await bob.ClickAsync("#join");
        await Assertions.Expect(bob.Locator("#session-title")).ToHaveTextAsync("Together");
        await Assertions.Expect(alice.Locator("#members li.online[data-member='bob']")).ToHaveCountAsync(1);
        await Assertions.Expect(bob.Locator("#members li.online[data-member='alice']")).ToHaveCountAsync(1);

        // Bob plays; Alice's page shows the turn attributed to him, narrated.
        await bob.FillAsync("#input", "I draw my sword.");
        await bob.PressAsync("#input", "Enter");
        var turn = alice.Locator("#story li").First;
        await Assertions.Expect(turn.Locator(".you")).ToHaveTextAsync("Bran: I draw my sword.");
        await Assertions.Expect(turn.Locator(".narrative:not(.streaming)")).ToHaveCountAsync(1);

        // The side chat goes from Bob to Alice's page.
        await bob.ClickAsync("#side-chat summary");
        await bob.FillAsync("#chat-input", "brb, pizza");
        await bob.ClickAsync("#chat-send");
        await alice.ClickAsync("#side-chat summary");
        await Assertions.Expect(alice.Locator("#chat-lines li")).ToHaveTextAsync(["Branbrb, pizza"]);
        Assert.DoesNotContain("pizza", await turn.TextContentAsync());
    }

    [Fact]
    public async Task A_player_proposes_and_the_owner_accepts_it_into_the_story()
    {
        await using var app = new KestrelLoomApp();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var alice = await OpenAsync(browser, app.BaseAddress.ToString(), LoomAppFactory.AliceKey);
        var bob = await OpenAsync(browser, app.BaseAddress.ToString(), LoomAppFactory.BobKey);

        // Alice starts a story in host mode and invites Bob, who joins.
        await Assertions.Expect(alice.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);
        await alice.SelectOptionAsync("#world", "ember-vale");
        await alice.FillAsync("#session-name", "Hosted");
        await alice.ClickAsync("#start");
        await Assertions.Expect(alice.Locator("#session-title")).ToHaveTextAsync("Hosted");
        var sessionId = await alice.EvaluateAsync<string>("() => localStorage.getItem('loom.session')");
        await alice.ClickAsync("#invite");
        await Assertions.Expect(alice.Locator("#invite-code")).ToContainTextAsync("Invite code:");
        var code = await alice.Locator("#invite-code").GetAttributeAsync("data-code");
        using (var owner = app.Client(LoomAppFactory.AliceKey))
        {
            using var hosted = await owner.PatchAsync($"/api/sessions/{sessionId}/room", System.Net.Http.Json.JsonContent.Create(new { mode = "host" }));
            hosted.EnsureSuccessStatusCode();
        }
        await bob.FillAsync("#join-code", code!);
        await bob.FillAsync("#join-name", "Bran");
        await bob.ClickAsync("#join");
        await Assertions.Expect(bob.Locator("#session-title")).ToHaveTextAsync("Hosted");

        // Bob's Send proposes; the proposal reaches Alice's page, not the story.
        await Assertions.Expect(bob.Locator("#whose-turn")).ToHaveTextAsync("propose an action; the owner accepts or rejects it");
        await bob.FillAsync("#input", "I draw my sword.");
        await bob.GetByRole(AriaRole.Button, new() { Name = "Propose", Exact = true }).ClickAsync();
        await Assertions.Expect(bob.Locator("#proposal-list li", new() { HasText = "I draw my sword." })).ToHaveCountAsync(1);
        await Assertions.Expect(bob.GetByRole(AriaRole.Button, new() { Name = "Accept Bran's proposal" })).ToHaveCountAsync(0);
        var proposal = alice.Locator("#proposal-list li", new() { HasText = "I draw my sword." });
        await Assertions.Expect(proposal).ToContainTextAsync("Bran");
        Assert.Equal(0, await alice.Locator("#story li").CountAsync());

        // Alice accepts: the turn is Bran's, narrated on both pages; no proposal is left.
        await alice.GetByRole(AriaRole.Button, new() { Name = "Accept Bran's proposal" }).ClickAsync();
        foreach (var page in new[] { alice, bob })
        {
            var turn = page.Locator("#story li").First;
            await Assertions.Expect(turn.Locator(".you")).ToHaveTextAsync("Bran: I draw my sword.");
            await Assertions.Expect(turn.Locator(".turn-meta")).ToContainTextAsync("completed");
            await Assertions.Expect(page.Locator("#proposal-list")).ToHaveTextAsync("No proposals waiting.");
        }
        Assert.Equal("", await alice.Locator("#error").TextContentAsync());
        Assert.Equal("", await bob.Locator("#error").TextContentAsync());
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assertions.SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        return StudioPage.LaunchAsync(playwright);
    }

    private static async Task<IPage> OpenAsync(IBrowser browser, string baseUrl, string key)
    {
        var context = await browser.NewContextAsync(new() { ExtraHTTPHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        await page.GotoAsync(baseUrl);
        return page;
    }
}
