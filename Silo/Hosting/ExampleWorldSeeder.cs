using Loom.Worlds;

namespace Loom.Silo.Hosting;

/// <summary>Publishes the bundled example worlds once the silo runs (only those that do not exist yet).</summary>
internal sealed partial class ExampleWorldSeeder(IGrainFactory grains, ILogger<ExampleWorldSeeder> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ExampleWorlds.SeedAsync(grains, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogSeedFailed(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish the example worlds")]
    private partial void LogSeedFailed(Exception ex);
}
