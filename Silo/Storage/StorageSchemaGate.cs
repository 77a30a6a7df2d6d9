using Loom.Silo.Hosting;
using Loom.Storage.Migrations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Storage;

/// <summary>
/// Runs before the grain storage and reminder providers read their queries: migrates an embedded SQLite file,
/// and for PostgreSQL only checks the version, failing start-up with instructions when migrate has not been run.
/// Also a <see cref="IStartupCheck"/>: a process started through <see cref="HostRun"/> does this before its host
/// starts, so a database it cannot use is one line on stderr; the silo lifecycle then finds it done.
/// </summary>
internal sealed class StorageSchemaGate(IOptions<StorageOptions> options, ILogger<StorageSchemaGate> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IStartupCheck
{
    private readonly Lock _lock = new();
    private Task? _checked;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(StorageSchemaGate), ServiceLifecycleStage.RuntimeInitialize, CheckAsync);

    /// <summary>The check, run once per process: a second caller gets the first one's outcome.</summary>
    public Task CheckAsync(CancellationToken cancellationToken)
    {
        lock (_lock) return _checked ??= RunAsync(cancellationToken);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var database = StorageDatabase.From(options.Value);
        var migrator = SchemaMigrator.Create(database, logger);

        if (database.Kind == StorageProviderKind.Sqlite)
        {
            var applied = await migrator.MigrateAsync(cancellationToken);
            logger.LogInformation("Storage: {Database} at schema version {Version} ({Applied} script(s) applied now)",
                database.Describe(), migrator.TargetVersion, applied.Count);
            return;
        }

        await migrator.EnsureCurrentAsync(cancellationToken);
        logger.LogInformation("Storage: {Database} at schema version {Version}", database.Describe(), migrator.TargetVersion);
    }
}
