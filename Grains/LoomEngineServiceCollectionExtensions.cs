using Loom.Budgets;
using Loom.Interventions;
using Loom.Memory;
using Loom.Quotas;
using Loom.Sessions;
using Loom.Telemetry;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Loom;

public static class LoomEngineServiceCollectionExtensions
{
    /// <summary>Registers what the grains need (options validated at start-up, narrators, prompt assembly).</summary>
    public static IServiceCollection AddLoomEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TurnOptions>().Bind(configuration.GetSection(TurnOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddLoomMetrics();
        services.AddLoomLlm(configuration);
        services.AddLoomMemory(configuration);
        services.AddSingleton<ILlmSettingsResolver, LlmSettingsResolver>();
        services.AddSingleton<CanonCache>();
        services.AddSingleton<Sessions.LocalSessions>();
        // The turn pipeline's stateless parts; the session grain builds its per-activation parts around them.
        services.AddSingleton<InterventionPlanner>();
        services.AddSingleton<TurnRunner>();
        services.AddSingleton<Sessions.SessionFounder>();
        services.AddSingleton<Lore.LorePlanner>();
        services.AddOptions<BudgetOptions>().Bind(configuration.GetSection(BudgetOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<QuotaOptions>().Bind(configuration.GetSection(QuotaOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        // A silo on PostgreSQL with Loom:Storage:ReadConnectionString replaces it with the replica reader.
        services.TryAddSingleton<Loom.Storage.IReplicaRowReader, Loom.Storage.NoReplicaRowReader>();
        return services;
    }
}
