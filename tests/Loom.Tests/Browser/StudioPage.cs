using System.Text.Json;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>
/// The studio page in the machine's Chromium, with the browser tests' deadline (Expect()'s own 5 s is too short for a
/// loaded CI machine); script errors and CSP violations are collected in <see cref="Errors"/>.
/// </summary>
internal sealed class StudioPage : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    /// <summary>A narrator slow enough (~0.15 s a chunk, several seconds a turn) to act while it narrates.</summary>
    public static readonly Dictionary<string, string?> SlowNarrator = new() { ["Loom:Llm:Offline:ChunkDelayMs"] = "150" };

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private StudioPage(IPlaywright playwright, IBrowser browser, IPage page, Uri baseAddress)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = Deadline };
    }

    public IPage Page { get; }
    /// <summary>The same gateway without a key (the single-user loopback mode the page runs in).</summary>
    public HttpClient Http { get; }
    public List<string> Errors { get; } = [];

    /// <summary>The page at <paramref name="baseAddress"/>; unless <paramref name="signedOut"/> (a gateway with keys), once it lists the worlds.</summary>
    public static async Task<StudioPage> OpenAsync(Uri baseAddress, bool signedOut = false)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        var studio = new StudioPage(playwright, browser, page, baseAddress);
        page.PageError += (_, e) => studio.Errors.Add("page error: " + e);
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) studio.Errors.Add("console: " + m.Text); };
        await page.GotoAsync(baseAddress.ToString());
        if (!signedOut) await Assertions.Expect(page.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);
        return studio;
    }

    /// <summary>The machine's Chromium, headless (the test command installs it).</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = PlayPageTests.ChromiumPath(),
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });

    /// <summary>Starts a story in Ember Vale named <paramref name="name"/>; returns its session id.</summary>
    public async Task<string> StartSessionAsync(string name)
    {
        await Page.SelectOptionAsync("#world", "ember-vale");
        await Page.FillAsync("#session-name", name);
        await Page.ClickAsync("#start");
        await Assertions.Expect(Page.Locator("#session-title")).ToHaveTextAsync(name);
        return await Page.EvaluateAsync<string>("() => localStorage.getItem('loom.session') ?? ''");
    }

    /// <summary>Sends <paramref name="input"/> as the next turn (Enter in "Your action").</summary>
    public async Task SendAsync(string input)
    {
        await Page.FillAsync("#input", input);
        await Page.PressAsync("#input", "Enter");
    }

    /// <summary>The story's <paramref name="count"/> turns have all finished narrating (completed or failed).</summary>
    public async Task WaitForFinishedTurnsAsync(int count)
    {
        await Assertions.Expect(Page.Locator("#story li")).ToHaveCountAsync(count);
        await Assertions.Expect(Page.Locator("#story li .narrative.streaming")).ToHaveCountAsync(0);
    }

    /// <summary>Opens a session from the sidebar's list, by name.</summary>
    public Task ClickSessionAsync(string name) => Page.Locator("#sessions button", new() { HasText = name }).ClickAsync();

    /// <summary>A button of the Play page by its accessible name.</summary>
    public ILocator Button(string name) => Page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    /// <summary>The turn's status as the server has it now.</summary>
    public async Task<string?> TurnStatusAsync(string sessionId, string turnId)
    {
        using var turn = JsonDocument.Parse(await Http.GetStringAsync($"/api/sessions/{sessionId}/turns/{turnId}"));
        return turn.RootElement.GetProperty("status").GetString();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test at the deadline.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!await condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
