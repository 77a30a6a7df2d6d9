using Loom.Tests.Browser;
using Microsoft.Playwright;

namespace Loom.Tests.Security;

/// <summary>
/// The Content-Security-Policy is strict enough to matter and loose enough for what the pages load: the player's page
/// and the API reference (Swagger UI) work in a real browser (the machine's Chromium) with no CSP violation, and the
/// page refuses to be framed.
/// </summary>
/// <summary>The page as the README's default run serves it: loopback, no API keys (the local user).</summary>
public sealed class KeylessKestrelApp() : KestrelLoomApp(apiKeys: false);

public sealed class ContentSecurityPolicyBrowserTests(KeylessKestrelApp app) : IClassFixture<KeylessKestrelApp>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_page_and_the_API_reference_run_without_a_CSP_violation_and_cannot_be_framed()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = PlayPageTests.ChromiumPath(),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) lock (violations) violations.Add(message.Text);
        };
        // Also the DOM event, which reports violations the console may word differently.
        await page.AddInitScriptAsync("document.addEventListener('securitypolicyviolation', e => console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));");

        // The player's page: its script runs (the worlds load over fetch) and its stylesheet applies.
        await page.GotoAsync(app.BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#world option", new() { HasText = "Ember Vale" })).ToHaveCountAsync(1);
        var background = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        Assert.NotEqual("rgba(0, 0, 0, 0)", background);

        // The API reference renders its operations.
        await page.GotoAsync(new Uri(app.BaseAddress, "/docs/index.html").ToString());
        await Assertions.Expect(page.Locator(".swagger-ui .opblock").First).ToBeVisibleAsync();

        lock (violations) Assert.Empty(violations);

        // A page elsewhere cannot frame LOOM (frame-ancestors 'none'): the browser refuses and says why.
        await page.SetContentAsync($"<iframe src='{app.BaseAddress}'></iframe>");
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            lock (violations) if (violations.Any(v => v.Contains("frame-ancestors", StringComparison.Ordinal))) return;
            await Task.Delay(50);
        }
        Assert.Fail("The browser framed the page: " + string.Join(" | ", violations));
    }
}
