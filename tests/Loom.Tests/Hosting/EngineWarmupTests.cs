using Loom.Silo.Hosting;
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
    public void The_silo_runs_it_while_it_starts_unless_turned_off()
    {
        _ = app.CreateClient();
        Assert.Single(app.Services.GetServices<ILifecycleParticipant<ISiloLifecycle>>().OfType<EngineWarmup>());
        using var cold = new LoomAppFactory();
        _ = cold.CreateClient();
        Assert.Empty(cold.Services.GetServices<ILifecycleParticipant<ISiloLifecycle>>().OfType<EngineWarmup>());
    }
}
