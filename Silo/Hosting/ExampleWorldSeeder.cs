using Loom.Worlds;

namespace Loom.Silo.Hosting;

/// <summary>
/// Publishes the bundled example worlds (only those that do not exist yet) as part of start-up, after the
/// silo is running, so the first page load already finds them. Failure is logged, never fatal.
/// </summary>
internal sealed partial class ExampleWorldSeeder(IGrainFactory grains, ILogger<ExampleWorldSeeder> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await ExampleWorlds.SeedAsync(grains, timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogSeedFailed(ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish the example worlds")]
    private partial void LogSeedFailed(Exception ex);
}
