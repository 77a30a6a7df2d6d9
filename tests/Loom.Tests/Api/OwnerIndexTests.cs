using System.Net;
using Loom.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Loom.Tests.Api;

/// <summary>Creating a session does not wait for the owner's index row, yet the owner sees it at once and the row follows.</summary>
public sealed class OwnerIndexTests
{
    [Fact]
    public async Task A_new_session_is_listed_at_once_and_its_index_row_is_written_without_a_restart()
    {
        await using var app = LoomAppFactory.With(null, null);
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();

        var listed = (await client.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Contains(listed, s => s!["sessionId"]!.GetValue<string>() == sessionId);

        var storage = app.Services.GetRequiredKeyedService<IGrainStorage>("loom");
        var owner = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IOwnerGrain>("alice").GetGrainId();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var row = new GrainState<OwnerState>();
            await storage.ReadStateAsync("owner", owner, row);
            if (row.State?.Sessions.Any(s => s.SessionId == sessionId) == true) break;
            Assert.True(DateTime.UtcNow < deadline, "the owner's index row never listed the new session");
            await Task.Delay(50);
        }
    }
}
