using System.Data.Common;
using Loom.Storage.Migrations;
using Microsoft.Extensions.Configuration;

namespace Loom.Storage;

/// <summary>
/// <c>Loom.Silo migrate</c>: brings the configured database (Loom:Storage) to this build's schema and exits.
/// The only way PostgreSQL tables are created or changed; safe to run repeatedly and from several places at once.
/// </summary>
public static class MigrateCommand
{
    public const int Success = 0;
    public const int InvalidConfiguration = 2;
    public const int DatabaseUnreachable = 3;
    public const int MigrationRefused = 4;
    /// <summary>Stopped by Ctrl+C (the shell's code for SIGINT).</summary>
    public const int Cancelled = 130;

    /// <summary>Runs the migration, reporting on <paramref name="output"/> and <paramref name="error"/>; returns the process exit code.</summary>
    public static Task<int> RunAsync(IConfiguration configuration, TextWriter output, TextWriter error,
        CancellationToken cancellationToken) =>
        RunAsync(configuration, null, output, error, cancellationToken);

    /// <param name="scripts">The scripts to apply; null for this build's (a test's own, e.g. one that runs long).</param>
    internal static async Task<int> RunAsync(IConfiguration configuration, IReadOnlyList<MigrationScript>? scripts,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var options = new StorageOptions();
        try
        {
            configuration.GetSection(StorageOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // A value of the wrong type (MaxPoolSize=abc): the binder's message names the key.
            await error.WriteLineAsync($"migrate: {ex.Message}");
            return InvalidConfiguration;
        }
        var validation = new StorageOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            foreach (var failure in validation.Failures ?? [])
            {
                await error.WriteLineAsync($"migrate: {failure}");
            }
            return InvalidConfiguration;
        }

        var database = StorageDatabase.From(options);
        var migrator = new SchemaMigrator(database, scripts ?? MigrationCatalog.For(database.Kind),
            commandTimeoutSeconds: options.MigrationCommandTimeoutSeconds);
        try
        {
            var applied = await migrator.MigrateAsync(cancellationToken);
            foreach (var script in applied)
            {
                await output.WriteLineAsync($"migrate: applied {script.Id}");
            }
            await output.WriteLineAsync(applied.Count == 0
                ? $"migrate: {database.Describe()} is up to date at version {migrator.TargetVersion}."
                : $"migrate: {database.Describe()} is now at version {migrator.TargetVersion}.");
            return Success;
        }
        catch (SchemaMigrationException ex) when (ex.InnerException is DbException { IsTransient: true })
        {
            // The connection failed (refused, dropped, timed out), not the schema: exit as for an unreachable database.
            await error.WriteLineAsync($"migrate: {ex.Message}");
            return DatabaseUnreachable;
        }
        catch (SchemaMigrationException ex)
        {
            await error.WriteLineAsync($"migrate: {ex.Message}");
            return MigrationRefused;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("migrate: cancelled.");
            return Cancelled;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"migrate: cannot use {database.Describe()}: {ex.Message}");
            return DatabaseUnreachable;
        }
        catch (DbException ex)
        {
            await error.WriteLineAsync($"migrate: cannot use {database.Describe()}: {ex.Message}");
            return DatabaseUnreachable;
        }
    }
}
