using Loom.Storage.Migrations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Storage;

/// <summary>
/// Runs before the grain storage and reminder providers read their queries: migrates an embedded SQLite file,
/// and for PostgreSQL only checks the version, failing start-up with instructions when migrate has not been run.
/// </summary>
internal sealed class StorageSchemaGate(IOptions<StorageOptions> options, ILogger<StorageSchemaGate> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(StorageSchemaGate), ServiceLifecycleStage.RuntimeInitialize, OnStartAsync);

    private async Task OnStartAsync(CancellationToken cancellationToken)
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
