using Loom.Tests.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>
/// The player's page in a real browser (the machine's Chromium) against the real gateway on Kestrel: pick a world,
/// start a session, send a turn, watch the narration arrive, reload and find the story still there.
/// </summary>
public sealed class PlayPageTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_player_starts_a_session_plays_a_turn_and_finds_it_after_a_reload()
    {
        // The page sends no key: it is the single-user loopback mode.
        await using var app = LoomAppFactory.WithoutKeys();
        var baseUrl = Serve(app);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await OpenAsync(browser, baseUrl);

        // The example worlds are offered; start a story in Ember Vale.
        await Assertions.Expect(page.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);
        await page.SelectOptionAsync("#world", "ember-vale");
        await page.FillAsync("#session-name", "Browser run");
        await page.ClickAsync("#start");
        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("Browser run");

        // Send a turn with Enter; the narration streams into the story and the turn finishes.
        await page.FillAsync("#input", "I light a lantern and walk to the old mill. (OOC: keep it short)");
        await page.PressAsync("#input", "Enter");
        var turn = page.Locator("#story li").First;
        await Assertions.Expect(turn.Locator(".you")).ToHaveTextAsync("I light a lantern and walk to the old mill.");
        await Assertions.Expect(turn.Locator(".chip")).ToHaveTextAsync("ooc: keep it short");
        await Assertions.Expect(turn.Locator(".narrative:not(.streaming)")).ToHaveCountAsync(1);
        var narrative = await turn.Locator(".narrative").TextContentAsync();
        Assert.False(string.IsNullOrWhiteSpace(narrative));
        Assert.DoesNotContain("loom-memory", narrative);
        await Assertions.Expect(page.Locator("#session-meta")).ToContainTextAsync("1 turn(s)");

        // The POST's answer (queued) may reach the page after the stream said completed: hold it back until the turn
        // has finished and check that the page does not fall back to "in progress".
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        await page.RouteAsync("**/api/sessions/*/turns", async route =>
        {
            if (route.Request.Method != "POST")
            {
                await route.ContinueAsync();
                return;
            }
            var response = await route.FetchAsync();
            using var queued = System.Text.Json.JsonDocument.Parse(await response.TextAsync());
            var location = new Uri(new Uri(baseUrl), response.Headers["location"]);
            await StudioPage.WaitUntilAsync(async () =>
            {
                using var current = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(location));
                return current.RootElement.GetProperty("status").GetString() == "completed";
            });
            Assert.Equal("queued", queued.RootElement.GetProperty("status").GetString());
            await route.FulfillAsync(new() { Response = response });
        });
        await page.FillAsync("#input", "I knock on the mill door.");
        await page.PressAsync("#input", "Enter");
        var second = page.Locator("#story li").Nth(1);
        await Assertions.Expect(second.Locator(".you")).ToHaveTextAsync("I knock on the mill door.");
        await Assertions.Expect(page.Locator("#story li .narrative.streaming")).ToHaveCountAsync(0);
        Assert.False(string.IsNullOrWhiteSpace(await second.Locator(".narrative").TextContentAsync()));
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("");
        await Assertions.Expect(page.Locator("#session-meta")).ToContainTextAsync("2 turn(s)");

        // A reload resumes the same session with its story.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("Browser run");
        await Assertions.Expect(page.Locator("#story li")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#story li .narrative").First).ToHaveTextAsync(narrative!);
        Assert.Equal("", await page.Locator("#error").TextContentAsync());
    }

    [Fact]
    public async Task Stop_ends_the_narration_on_the_server_and_the_story_goes_on()
    {
        // A slow narrator (~10 s a turn), so the turn is still being told when the player stops it.
        await using var app = LoomAppFactory.WithoutKeys(new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "250" });
        var baseUrl = Serve(app);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await OpenAsync(browser, baseUrl);
        await Assertions.Expect(page.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);
        await page.SelectOptionAsync("#world", "ember-vale");
        await page.ClickAsync("#start");

        await page.FillAsync("#input", "I climb the bell tower.");
        await page.PressAsync("#input", "Enter");
        var turn = page.Locator("#story li").First;
        await Assertions.Expect(turn.Locator(".narrative.streaming")).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();

        // The server stopped it: the turn ends failed as cancelled, well before the ~10 s narration would have ended.
        await Assertions.Expect(turn.Locator(".failed")).ToContainTextAsync("Stopped before the narrator finished", new() { Timeout = 5_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Stop" })).ToBeHiddenAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var sessionId = await page.EvaluateAsync<string>("() => localStorage.getItem('loom.session') ?? ''");
        Assert.NotEmpty(sessionId);
        Assert.Contains("\"cancelled\"", await http.GetStringAsync($"/api/sessions/{sessionId}/turns"));
    }

    /// <summary>Serves the app on a loopback port of Kestrel; returns its base address.</summary>
    private static string Serve(LoomAppFactory app)
    {
        app.UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
        app.StartServer();
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => StudioPage.LaunchAsync(playwright);

    /// <summary>A page at <paramref name="baseUrl"/> with the test's deadline (Expect()'s own 5 s is too short for a loaded CI machine).</summary>
    private static async Task<IPage> OpenAsync(IBrowser browser, string baseUrl)
    {
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        await page.GotoAsync(baseUrl);
        return page;
    }

    internal static string ChromiumPath()
    {
        foreach (var candidate in new[] { Environment.GetEnvironmentVariable("LOOM_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" })
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("Chromium is not installed: the test command installs it (apt-get install -y chromium).");
    }
}
