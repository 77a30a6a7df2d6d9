using Loom.Tests.Api;
using Loom.Tests.Security;
using Microsoft.Playwright;

namespace Loom.Tests.Browser;

/// <summary>Sign out leaves nothing of the key's owner on the page: its live stream ends, the story and lists go.</summary>
public sealed class SignOutTests
{
    [Fact]
    public async Task Signing_out_stops_the_stream_and_clears_the_story_and_the_session_to_resume()
    {
        await using var app = new KestrelLoomApp();
        await using var studio = await StudioPage.OpenAsync(app.BaseAddress, signedOut: true);
        var page = studio.Page;
        await page.GetByLabel("API key").FillAsync(LoomAppFactory.AliceKey);
        await page.GetByLabel("API key").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#signin-status")).ToHaveTextAsync("Signed in.");
        var sessionId = await studio.StartSessionAsync("Alice's story");
        await studio.SendAsync("I look around.");
        await studio.WaitForFinishedTurnsAsync(1);

        // The page aborts its event stream: the request ends as failed (aborted) in the browser.
        var streamEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        page.RequestFailed += (_, request) => { if (request.Url.Contains($"/api/sessions/{sessionId}/events", StringComparison.Ordinal)) streamEnded.TrySetResult(); };
        await studio.Button("Sign out").ClickAsync();
        await streamEnded.Task.WaitAsync(StudioPage.Deadline);

        await Assertions.Expect(page.Locator("#signin-status")).ToHaveTextAsync("Signed out.");
        await Assertions.Expect(page.Locator("#story li")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#session-header")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#turn-form")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#sessions li")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#world option")).ToHaveCountAsync(0);
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('loom.session')"));
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('loom.apiKey')"));
        Assert.Empty(studio.Errors);
    }
}
