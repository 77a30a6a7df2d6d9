using Loom.Sessions;
using Loom.Silo.Hosting;
using Loom.Storage;
using Loom.Tests.Api;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Hosting;

/// <summary>
/// The silo's warm-up runs a turn's CPU path on an example world before the silo takes sessions. Its failures are only
/// logged at start-up, so these tests make it run to the end against the real services and say what it covered.
/// </summary>
public sealed class EngineWarmupTests : IClassFixture<EngineWarmupTests.WarmingApp>
{
    private readonly WarmingApp app;

    public EngineWarmupTests(WarmingApp app) => this.app = app;

    /// <summary>The test host with the warm-up on, as every silo runs by default.</summary>
    public sealed class WarmingApp() : LoomAppFactory(null, new Dictionary<string, string?> { ["Loom:Cluster:WarmUp"] = "true" });

    [Fact]
    public async Task Warm_up_narrates_remembers_and_assembles_prompts_on_the_real_services()
    {
        _ = app.CreateClient(); // starts the host (and its silo)
        var warmup = ActivatorUtilities.CreateInstance<EngineWarmup>(app.Services);

        var warmed = await warmup.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(3, warmed.Turns);
        Assert.True(warmed.MemoryEntities > 0, "the offline narrator's memory blocks were not applied");
        Assert.True(warmed.PromptTokens > 1000, $"the prompt carried {warmed.PromptTokens} tokens: the example canon was not in it");
    }

    [Fact]
    public async Task Grain_warm_up_reads_back_and_plays_a_probe_session_then_erases_it()
    {
        _ = app.CreateClient();
        var warmup = ActivatorUtilities.CreateInstance<GrainPathWarmup>(app.Services);

        var warmed = await warmup.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, warmed.Turns); // played after the probe was deactivated and read back
        // Nothing of the probe is left: no header payload, no journal, memory or audit row, no index entry, and its
        // activation goes away again.
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var rows = app.Services.GetRequiredService<IGrainRowStore>();
        var grain = grains.GetGrain<ISessionGrain>(warmed.ProbeSessionId).GetGrainId();
        Assert.Null((await rows.ReadAsync(grain, SessionRows.Header))?.Payload);
        Assert.Empty(await rows.ListAsync(grain, SessionRows.Header + "."));
        Assert.Empty(await grains.GetGrain<IOwnerGrain>(GrainPathWarmup.ProbeOwner).List());
        var local = app.Services.GetRequiredService<LocalSessions>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (local.Snapshot().Contains(warmed.ProbeSessionId) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.DoesNotContain(warmed.ProbeSessionId, local.Snapshot());
    }

    [Fact]
    public async Task Spending_caps_do_not_stop_the_probe_owner()
    {
        // Every silo start plays the probe's turns under the same owner; a cap on every owner's tokens must not end them.
        await using var capped = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Cluster:WarmUp"] = "false",
            ["Loom:Budgets:DailyTokens"] = "1",
        });
        _ = capped.CreateClient();
        var warmup = ActivatorUtilities.CreateInstance<GrainPathWarmup>(capped.Services, ActivatorUtilities.CreateInstance<EngineWarmup>(capped.Services));

        Assert.Equal(2, (await warmup.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60))).Turns);
        Assert.Equal(2, (await warmup.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60))).Turns);
    }

    [Fact]
    public void The_silo_warms_up_while_it_starts_unless_turned_off()
    {
        _ = app.CreateClient();
        var participants = app.Services.GetServices<ILifecycleParticipant<ISiloLifecycle>>().ToList();
        Assert.Single(participants.OfType<GrainPathWarmup>());
        Assert.NotNull(app.Services.GetService<EngineWarmup>()); // the probe's fallback, not a participant of its own
        using var cold = new LoomAppFactory();
        _ = cold.CreateClient();
        Assert.Empty(cold.Services.GetServices<ILifecycleParticipant<ISiloLifecycle>>().OfType<GrainPathWarmup>());
    }
}
