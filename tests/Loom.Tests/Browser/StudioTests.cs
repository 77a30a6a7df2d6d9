using System.Text.RegularExpressions;
using Loom.Tests.Api;
using Loom.Tests.Security;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>
/// The studio (docs/studio.md) in the machine's Chromium against a real gateway on Kestrel, driven the way a user
/// does it: by the controls' accessible names. One story walks every area so the browser starts once: play with an
/// OOC chip, alternatives, the story tree (fork, rollback with a reason), the world editor (validate, diff,
/// publish, history), the memory browser and a turn's context, the usage charts, sessions (export, import).
/// Screenshots go to LOOM_STUDIO_SCREENSHOTS when it is set (docs/img when the docs are refreshed).
/// </summary>
public sealed class StudioTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_player_plays_branches_authors_and_inspects_a_story_in_the_studio()
    {
        await using var app = new KestrelLoomApp(apiKeys: false);
        var (_, page, errors, dispose) = await OpenAsync(app.BaseAddress.ToString());
        await using var closer = dispose;

        // ---- every named control the issue lists is there (hidden ones included: they appear with their area).
        foreach (var (role, name) in new[]
        {
            (AriaRole.Combobox, "World"), (AriaRole.Button, "Start session"), (AriaRole.Textbox, "Your action"), (AriaRole.Button, "Send"),
            (AriaRole.Button, "Stop"), (AriaRole.Button, "Regenerate"), (AriaRole.Button, "Continue"), (AriaRole.Button, "Previous alternative"),
            (AriaRole.Button, "Next alternative"), (AriaRole.Button, "Publish"), (AriaRole.Button, "Validate"), (AriaRole.Button, "Search memory"),
            (AriaRole.Textbox, "API key"),
        })
        {
            Assert.True(await page.GetByRole(role, new() { Name = name, Exact = true, IncludeHidden = true }).CountAsync() >= 1, $"no {role} named '{name}'");
        }
        Assert.Equal(1, await page.GetByLabel("Import", new() { Exact = true }).CountAsync());

        // ---- play: start, an OOC note through its chip, the narration streams and the turn shows status and cost.
        await page.GetByLabel("World", new() { Exact = true }).SelectOptionAsync("ember-vale");
        await page.GetByLabel("Name (optional)").FillAsync("Studio run");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start session", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#session-title")).ToHaveTextAsync("Studio run");
        await page.GetByRole(AriaRole.Button, new() { Name = "OOC", Exact = true }).ClickAsync();
        await page.GetByLabel("Note to the narrator").FillAsync("keep it short");
        await page.GetByLabel("Note to the narrator").PressAsync("Enter");
        var action = page.GetByLabel("Your action");
        await Assertions.Expect(action).ToHaveValueAsync("(OOC: keep it short)");
        await action.PressAsync("Home");
        await action.PressSequentiallyAsync("I light a lantern and walk to the old mill. ");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await WaitForTurnsAsync(page, 1);
        var first = page.Locator("#story li").First;
        await Assertions.Expect(first.Locator(".chip")).ToHaveTextAsync("ooc: keep it short");
        await Assertions.Expect(first.Locator(".turn-meta")).ToContainTextAsync(new Regex(@"#1 · completed · \d+ tokens · \$"));
        foreach (var input in new[] { "I knock on the mill door.", "I step inside and call out." })
        {
            await action.FillAsync(input);
            await action.PressAsync("Enter");
        }
        await WaitForTurnsAsync(page, 3);
        await Assertions.Expect(page.Locator("#session-meta")).ToContainTextAsync("3 turn(s)");

        // ---- alternatives: regenerate, flip back to the first, continue it.
        await HoldAnswerUntilShownAsync(page, "regenerate", "alternative 2/2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Regenerate", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Regenerate", Exact = true })).ToBeEnabledAsync();
        await page.UnrouteAllAsync();
        await Assertions.Expect(page.Locator("#alt-count")).ToHaveTextAsync("2/2");
        await WaitForTurnsAsync(page, 3);
        await page.GetByRole(AriaRole.Button, new() { Name = "Previous alternative", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#alt-count")).ToHaveTextAsync("1/2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue", Exact = true }).ClickAsync();
        await WaitForTurnsAsync(page, 3);
        // Edit and resend: the last input comes back in the box; sent again it becomes the third alternative.
        await page.GetByRole(AriaRole.Button, new() { Name = "Edit and resend", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("Your action")).Not.ToBeEmptyAsync();
        await page.GetByLabel("Your action").FillAsync("I look again at the ferry, more carefully.");
        await HoldAnswerUntilShownAsync(page, "resend", "alternative 3/3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Resend", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Edit and resend", Exact = true })).ToBeVisibleAsync();
        await page.UnrouteAllAsync();
        await Assertions.Expect(page.Locator("#alt-count")).ToHaveTextAsync("3/3");
        await WaitForTurnsAsync(page, 3);
        await Assertions.Expect(page.Locator("#error")).ToBeEmptyAsync();
        await ShotAsync(page, "play");

        // ---- story tree: fork from turn 2 (named), then roll back to turn 1 with a reason.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Story tree" }).ClickAsync();
        var turnRows = page.Locator("#tree-turns li[data-seq]");
        await Assertions.Expect(turnRows).ToHaveCountAsync(3);
        await turnRows.Nth(1).GetByRole(AriaRole.Button, new() { Name = "Fork here", Exact = true }).ClickAsync();
        await page.GetByLabel("Name of the new session").FillAsync("Studio fork");
        await page.GetByRole(AriaRole.Button, new() { Name = "OK", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#tree-forks li", new() { HasText = "Studio fork" })).ToHaveCountAsync(1);
        await turnRows.Nth(0).GetByRole(AriaRole.Button, new() { Name = "Rollback here", Exact = true }).ClickAsync();
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync("the mill should stay a mystery");
        await page.GetByRole(AriaRole.Button, new() { Name = "OK", Exact = true }).ClickAsync();
        await Assertions.Expect(turnRows).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#tree-turns li.retconned")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#tree-drawing svg .node.retconned")).ToHaveCountAsync(2);
        Assert.Equal("", await page.Locator("#tree-error").TextContentAsync());
        await ShotAsync(page, "tree");

        // ---- memory: an entity the story created, found by search; then what the narrator saw for turn 1.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Memory" }).ClickAsync();
        var entityButtons = page.Locator("#memory-list button[data-entity]");
        await Assertions.Expect(entityButtons.First).ToBeVisibleAsync();
        var entityName = (await entityButtons.First.TextContentAsync())!;
        await page.GetByLabel("Search memory", new() { Exact = true }).FillAsync(entityName);
        await page.GetByRole(AriaRole.Button, new() { Name = "Search memory", Exact = true }).ClickAsync();
        await page.Locator("#memory-list button[data-entity]", new() { HasText = entityName }).First.ClickAsync();
        await Assertions.Expect(page.Locator("#entity-name")).ToContainTextAsync(entityName);
        await page.GetByRole(AriaRole.Button, new() { Name = "Show context", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#context-tokens")).ToContainTextAsync("total");
        await Assertions.Expect(page.Locator("#context-view")).ToContainTextAsync("Turn #1");
        await ShotAsync(page, "memory", fullPage: true);

        // ---- world editor: a new world, validated live (invalid, then valid), published twice, diffed, with history.
        await page.GetByRole(AriaRole.Tab, new() { Name = "World editor" }).ClickAsync();
        await page.GetByLabel("or a new world id").FillAsync("studio-world");
        await page.GetByRole(AriaRole.Button, new() { Name = "New world", Exact = true }).ClickAsync();
        var canon = page.GetByLabel("Canon file text");
        await canon.FillAsync("# World\nA quiet harbour town.\n");
        await Assertions.Expect(page.Locator("#validation")).ToContainTextAsync("Invalid");
        await canon.FillAsync("# World\nA quiet harbour town.\n\n# Tone\nWistful, salt and fog.\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Validate", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#validation")).ToContainTextAsync("Valid: 2 section(s).");
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#world-status")).ToHaveTextAsync("Published v1.");
        await canon.FillAsync("# World\nA quiet harbour town with a lighthouse.\n\n# Tone\nWistful, salt and fog.\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Diff against published", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#world-diff")).ToContainTextAsync("+A quiet harbour town with a lighthouse.");
        await Assertions.Expect(page.Locator("#world-diff")).ToContainTextAsync("-A quiet harbour town.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#world-status")).ToHaveTextAsync("Published v2.");
        await Assertions.Expect(page.Locator("#world-versions li")).ToHaveCountAsync(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Changes in version 2", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#version-diff")).ToContainTextAsync("lighthouse");
        await Assertions.Expect(page.GetByLabel("World", new() { Exact = true }).Locator("option[value='studio-world']")).ToHaveCountAsync(1);
        await ShotAsync(page, "world");

        // ---- usage: the cost chart has a bar per session that played (the fork and the original).
        await page.GetByRole(AriaRole.Tab, new() { Name = "Usage" }).ClickAsync();
        await Assertions.Expect(page.Locator("#chart-sessions svg rect.bar")).Not.ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#chart-days svg rect.bar")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#budget")).ToContainTextAsync("All time:");
        await ShotAsync(page, "usage");

        // ---- sessions: search, export as JSON, import it back as a new session.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Sessions" }).ClickAsync();
        await page.GetByLabel("Search sessions").FillAsync("fork");
        var rows = page.Locator("#session-table tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await page.GetByLabel("Search sessions").FillAsync("");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        var original = rows.Filter(new() { HasText = "Studio run" });
        var download = await page.RunAndWaitForDownloadAsync(() => original.GetByRole(AriaRole.Button, new() { Name = "Export", Exact = true }).ClickAsync());
        var exported = Path.Combine(Path.GetTempPath(), $"studio-export-{Guid.NewGuid():N}.json");
        await download.SaveAsAsync(exported);
        try
        {
            Assert.Contains("loom.session.v1", await File.ReadAllTextAsync(exported));
            await ShotAsync(page, "sessions");
            await page.GetByLabel("Import", new() { Exact = true }).SetInputFilesAsync(exported);
            await Assertions.Expect(page.Locator("#panel-play")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#story li")).ToHaveCountAsync(1);
        }
        finally
        {
            File.Delete(exported);
        }

        // ---- a phone-sized screen: the play area still fits (no horizontal scrolling).
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways on a phone");
        await ShotAsync(page, "phone");

        Assert.Empty(errors);
    }

    [Fact]
    public async Task Cards_lorebooks_and_chats_go_in_and_out_through_the_studio()
    {
        await using var app = new KestrelLoomApp(apiKeys: false);
        var (_, page, errors, dispose) = await OpenAsync(app.BaseAddress.ToString());
        await using var closer = dispose;
        var folder = Directory.CreateTempSubdirectory("studio-files-").FullName;
        try
        {
            // A SillyTavern card becomes a new world, opened in the editor with its lore.
            var card = Path.Combine(folder, "mira.json");
            await File.WriteAllTextAsync(card, Loom.Tests.Lore.CardSamples.V2Card().ToJsonString());
            await page.GetByRole(AriaRole.Tab, new() { Name = "World editor" }).ClickAsync();
            await page.GetByLabel("Import a card or lorebook").SetInputFilesAsync(card);
            await Assertions.Expect(page.Locator("#world-status")).ToContainTextAsync("Imported card \"Mira Vell\"");
            var worldId = await page.GetByLabel("World to edit").InputValueAsync();
            Assert.StartsWith("mira-vell-", worldId);
            await Assertions.Expect(page.Locator("#lore-file option")).ToHaveCountAsync(2);

            // Out again as a lorebook and as a PNG card.
            await page.GetByLabel("Export as").SelectOptionAsync("lorebook");
            var lorebook = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export world" }).ClickAsync());
            var lorebookFile = Path.Combine(folder, lorebook.SuggestedFilename);
            await lorebook.SaveAsAsync(lorebookFile);
            Assert.Contains("The silver key opens the sea gate", await File.ReadAllTextAsync(lorebookFile));
            await page.GetByLabel("Export as").SelectOptionAsync("png");
            var png = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export world" }).ClickAsync());
            var pngFile = Path.Combine(folder, png.SuggestedFilename);
            await png.SaveAsAsync(pngFile);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], (await File.ReadAllBytesAsync(pngFile))[..4]);

            // A story in the new world, out as a SillyTavern chat and back in as a new session of that world.
            await page.GetByRole(AriaRole.Tab, new() { Name = "Play" }).ClickAsync();
            await page.GetByLabel("World", new() { Exact = true }).SelectOptionAsync(worldId);
            await page.GetByRole(AriaRole.Button, new() { Name = "Start session", Exact = true }).ClickAsync();
            await page.GetByLabel("Your action").FillAsync("I ask Mira about the sea gate.");
            await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
            await WaitForTurnsAsync(page, 1);
            await page.GetByRole(AriaRole.Tab, new() { Name = "Sessions" }).ClickAsync();
            var row = page.Locator("#session-table tbody tr").Filter(new() { HasText = worldId });
            await row.Locator("select").SelectOptionAsync("st-jsonl");
            var chat = await page.RunAndWaitForDownloadAsync(() => row.GetByRole(AriaRole.Button, new() { Name = "Export", Exact = true }).ClickAsync());
            Assert.EndsWith(".jsonl", chat.SuggestedFilename);
            var chatFile = Path.Combine(folder, chat.SuggestedFilename);
            await chat.SaveAsAsync(chatFile);
            Assert.Contains("I ask Mira about the sea gate.", await File.ReadAllTextAsync(chatFile));
            await page.GetByLabel("a chat (.jsonl) plays in").SelectOptionAsync(worldId);
            await page.GetByLabel("Import", new() { Exact = true }).SetInputFilesAsync(chatFile);
            await Assertions.Expect(page.Locator("#panel-play")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#story li .you").First).ToHaveTextAsync("I ask Mira about the sea gate.");
            await Assertions.Expect(page.Locator("#session-table tbody tr", new() { HasText = worldId })).ToHaveCountAsync(2);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_gateway_with_keys_asks_for_one_and_the_studio_works_after_signing_in()
    {
        await using var app = new KestrelLoomApp();
        var (_, page, errors, dispose) = await OpenAsync(app.BaseAddress.ToString());
        await using var closer = dispose;

        var key = page.GetByLabel("API key");
        await Assertions.Expect(key).ToBeVisibleAsync();
        await Assertions.Expect(key).ToBeFocusedAsync();
        await key.FillAsync(LoomAppFactory.AliceKey);
        await key.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#signin-status")).ToHaveTextAsync("Signed in.");
        await Assertions.Expect(page.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);

        // The key also opens the live stream (fetch-based, so it can carry the key): a turn streams to the end.
        await page.GetByRole(AriaRole.Button, new() { Name = "Start session", Exact = true }).ClickAsync();
        await page.GetByLabel("Your action").FillAsync("I look around.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await WaitForTurnsAsync(page, 1);
        Assert.Null(await page.EvaluateAsync<string?>("localStorage.getItem('loom.apiKey')"));
        Assert.Equal(LoomAppFactory.AliceKey, await page.EvaluateAsync<string?>("sessionStorage.getItem('loom.apiKey')"));
        Assert.Empty(errors);
    }

    /// <summary>Every listed turn has finished narrating and none is streaming any more.</summary>
    private static async Task WaitForTurnsAsync(IPage page, int count)
    {
        await Assertions.Expect(page.Locator("#story li")).ToHaveCountAsync(count);
        await Assertions.Expect(page.Locator("#story li .narrative.streaming")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#story li .turn-meta", new() { HasText = "completed" })).ToHaveCountAsync(count);
    }

    /// <summary>
    /// A rework's POST answers with the turn queued again, and that answer can reach the page after the stream said the
    /// new take finished (CI saw it): hold the answer back until the page shows the finished take, so the test can check
    /// that the late answer does not undo it.
    /// </summary>
    private static Task HoldAnswerUntilShownAsync(IPage page, string rework, string shown) =>
        page.RouteAsync($"**/turns/*/{rework}", async route =>
        {
            var response = await route.FetchAsync();
            await Assertions.Expect(page.Locator("#story li .turn-meta", new() { HasText = "completed" }).Filter(new() { HasText = shown })).ToHaveCountAsync(1);
            await route.FulfillAsync(new() { Response = response });
        });

    private static async Task ShotAsync(IPage page, string area, bool fullPage = false)
    {
        var dir = Environment.GetEnvironmentVariable("LOOM_STUDIO_SCREENSHOTS");
        if (string.IsNullOrEmpty(dir)) return;
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, $"studio-{area}.png"), FullPage = fullPage });
    }

    private static async Task<(IBrowser Browser, IPage Page, List<string> Errors, IAsyncDisposable Dispose)> OpenAsync(string baseUrl)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await StudioPage.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 }, AcceptDownloads = true });
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        // Script errors and CSP violations fail the test: the page must run under the gateway's policy as it is.
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add("page error: " + e);
        // Refused requests are part of the story (a 404 route, a 401 before signing in) and checked through the page.
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) errors.Add("console: " + m.Text); };
        await page.GotoAsync(baseUrl);
        return (browser, page, errors, new Closer(browser, playwright));
    }

    private sealed class Closer(IBrowser browser, IPlaywright playwright) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await browser.CloseAsync();
            playwright.Dispose();
        }
    }
}
