using Loom.Sessions;
using Loom.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Loom.Tests.Sessions;

/// <summary>
/// A session handed off (a silo stopping) leaves with its wake-up reminder in place: the move does not unregister it
/// (the new activation would only register it again) and the session plays on afterwards. One silo here, so the move
/// finds no other silo and ends as a plain deactivation with the move's reason, which is the path under test.
/// </summary>
public sealed class HandOffReminderTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task A_handed_off_session_keeps_its_reminder_and_plays_on()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I cross the ford at dawn.");
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var grainId = grains.GetGrain<ISessionGrain>(sessionId).GetGrainId();
        var reminders = app.Services.GetRequiredService<IReminderTable>();
        // The first submit registers the reminder beside the turn, not before it: it may land after the turn's answer.
        var registered = DateTime.UtcNow.AddSeconds(30);
        while (await reminders.ReadRow(grainId, "pump") is null)
        {
            Assert.True(DateTime.UtcNow < registered, "the session's first turn never registered its reminder");
            await Task.Delay(50);
        }

        var local = app.Services.GetRequiredService<LocalSessions>();
        var silo = app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        await grains.GetGrain<ISessionHandOffGrain>(sessionId).HandOff(silo, TimeSpan.FromSeconds(5));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (local.Snapshot().Contains(sessionId))
        {
            Assert.True(DateTime.UtcNow < deadline, "the handed-off session never left its activation");
            await Task.Delay(50);
        }

        Assert.NotNull(await reminders.ReadRow(grainId, "pump"));
        var turn = await client.PlayAsync(sessionId, "I climb the tower.");
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        Assert.Equal(2, turn["seq"]!.GetValue<int>());
    }
}
