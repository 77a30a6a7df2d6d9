using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Loom.Storage.Migrations;

/// <summary>
/// Applies versioned scripts in order, one transaction per script, recording each in
/// <c>loom_schema_migrations(version, name, applied_at, checksum)</c>. Running it again changes nothing; it refuses
/// to touch a database whose applied scripts no longer match this build (edited script, or a newer build's schema).
/// Concurrent migrators are safe: SQLite serialises them with BEGIN IMMEDIATE, PostgreSQL with an advisory lock,
/// and each re-checks inside its transaction whether the script was applied meanwhile.
/// </summary>
public sealed class SchemaMigrator
{
    private const string HistoryTable = "loom_schema_migrations";

    // Arbitrary but fixed key ("LOOM") for pg_advisory_xact_lock: one migrator at a time per database.
    private const long PostgresLockKey = 0x4C4F4F4D;

    private readonly StorageDatabase _database;
    private readonly IReadOnlyList<MigrationScript> _scripts;
    private readonly ILogger _logger;
    private readonly int? _commandTimeoutSeconds;

    /// <param name="commandTimeoutSeconds">
    /// PostgreSQL: the command timeout while migrating (0 = none; see <see cref="StorageOptions.MigrationCommandTimeoutSeconds"/>),
    /// null for the connection string's. Reading the version (<see cref="GetStatusAsync"/>) always uses the latter.
    /// </param>
    public SchemaMigrator(StorageDatabase database, IReadOnlyList<MigrationScript> scripts, ILogger? logger = null,
        int? commandTimeoutSeconds = null)
    {
        _database = database;
        _scripts = [.. scripts.OrderBy(s => s.Version)];
        _logger = logger ?? NullLogger.Instance;
        _commandTimeoutSeconds = commandTimeoutSeconds;
    }

    /// <summary>A migrator for the scripts embedded in this build.</summary>
    public static SchemaMigrator Create(StorageDatabase database, ILogger? logger = null, int? commandTimeoutSeconds = null) =>
        new(database, MigrationCatalog.For(database.Kind), logger, commandTimeoutSeconds);

    public int TargetVersion => _scripts.Count == 0 ? 0 : _scripts[^1].Version;

    /// <summary>Reads the schema state without changing anything (no table is created).</summary>
    public async Task<SchemaStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var applied = await HistoryExistsAsync(connection, null, cancellationToken)
            ? await ReadHistoryAsync(connection, null, cancellationToken)
            : [];
        return Compare(applied);
    }

    /// <summary>Applies pending scripts; returns those it applied (empty when already current).</summary>
    /// <exception cref="SchemaMigrationException">An applied script changed or the database is ahead of this build.</exception>
    public async Task<IReadOnlyList<MigrationScript>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        _database.EnsureDirectory();
        await using var connection = await OpenAsync(cancellationToken, _commandTimeoutSeconds);
        MigrationScript? current = null;
        try
        {
            return await MigrateAsync(connection, script => current = script, cancellationToken);
        }
        catch (DbException ex) when (_database.Kind == StorageProviderKind.Postgres && ex.InnerException is TimeoutException timeout)
        {
            // Npgsql's command timeout (the connection is open: not a connect timeout). Not an unreachable database: the
            // operator's fix is a longer limit, so it is reported as a failed migration, naming the setting.
            var what = current is null ? "Preparing the migration" : $"Migration {current.Id}";
            throw new SchemaMigrationException(
                $"{what} did not finish within the command timeout of {CommandTimeoutSeconds(connection)} s on {_database.Describe()} " +
                "and was rolled back; raise Loom:Storage:MigrationCommandTimeoutSeconds (0 = no limit).", timeout);
        }
    }

    private async Task<IReadOnlyList<MigrationScript>> MigrateAsync(DbConnection connection, Action<MigrationScript> starting,
        CancellationToken cancellationToken)
    {
        await PrepareAsync(connection, cancellationToken);

        var before = Compare(await ReadHistoryAsync(connection, null, cancellationToken));
        ThrowOnProblems(before);

        var appliedNow = new List<MigrationScript>();
        foreach (var script in before.Pending)
        {
            starting(script);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await LockAsync(connection, transaction, cancellationToken);

            // Re-read inside the lock: another migrator may have applied this script since we started.
            var status = Compare(await ReadHistoryAsync(connection, transaction, cancellationToken));
            ThrowOnProblems(status);
            if (!status.Pending.Contains(script))
            {
                await transaction.RollbackAsync(cancellationToken);
                continue;
            }

            try
            {
                await ExecuteAsync(connection, transaction, script.Sql, cancellationToken);
                await RecordAsync(connection, transaction, script, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            catch (DbException ex) when (ex.InnerException is not TimeoutException)
            {
                throw new SchemaMigrationException(
                    $"Migration {script.Id} failed on {_database.Describe()} and was rolled back: {ex.Message}", ex);
            }
            appliedNow.Add(script);
            _logger.LogInformation("Applied schema migration {Migration} to {Database}", script.Id, _database.Describe());
        }
        return appliedNow;
    }

    /// <summary>Throws a message for the operator unless the schema matches this build exactly.</summary>
    public async Task EnsureCurrentAsync(CancellationToken cancellationToken = default)
    {
        SchemaStatus status;
        try
        {
            status = await GetStatusAsync(cancellationToken);
        }
        catch (DbException ex)
        {
            throw new SchemaMigrationException($"Cannot read the schema version of {_database.Describe()}: {ex.Message}", ex);
        }

        if (status.Problems.Count > 0)
        {
            throw new SchemaMigrationException(
                $"The schema of {_database.Describe()} does not match this build: {string.Join(" ", status.Problems)}");
        }
        if (status.Pending.Count > 0)
        {
            throw new SchemaMigrationException(
                $"The schema of {_database.Describe()} is at version {status.CurrentVersion}, this build needs " +
                $"{status.TargetVersion} (pending: {string.Join(", ", status.Pending.Select(p => p.Id))}). Silos never " +
                "create tables on PostgreSQL: run the migrate command first with the same Loom:Storage settings, " +
                "e.g. 'dotnet run --project Silo -- migrate' or 'Loom.Silo migrate' in the container.");
        }
    }

    private void ThrowOnProblems(SchemaStatus status)
    {
        if (status.Problems.Count > 0)
        {
            throw new SchemaMigrationException(
                $"Refusing to migrate {_database.Describe()}: {string.Join(" ", status.Problems)}");
        }
    }

    private SchemaStatus Compare(IReadOnlyList<AppliedScript> applied)
    {
        var problems = new List<string>();
        foreach (var row in applied)
        {
            var script = _scripts.FirstOrDefault(s => s.Version == row.Version);
            if (script is null)
            {
                problems.Add($"Version {row.Version} ('{row.Name}') is applied but this build only knows up to " +
                             $"{TargetVersion}: the database belongs to a newer build.");
            }
            else if (!string.Equals(script.Checksum, row.Checksum, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"Script {script.Id} was changed after it was applied (checksum {row.Checksum} in the " +
                             $"database, {script.Checksum} in this build). Never edit an applied script: add a new one.");
            }
        }

        var appliedVersions = applied.Select(a => a.Version).ToHashSet();
        var pending = _scripts.Where(s => !appliedVersions.Contains(s.Version)).ToList();
        var current = applied.Count == 0 ? 0 : applied.Max(a => a.Version);
        return new SchemaStatus(current, TargetVersion, pending, problems);
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken, int? commandTimeoutSeconds = null)
    {
        var connection = _database.CreateConnection(commandTimeoutSeconds);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (_database.Kind == StorageProviderKind.Sqlite)
        {
            // Page size only takes on a new, empty file (an existing file keeps its own): see StorageOptions.SqlitePageSize.
            await ExecuteAsync(connection, null, $"PRAGMA page_size = {_database.SqlitePageSize};", cancellationToken);
            // WAL lets readers run beside the single writer and persists in the file; it cannot be switched inside
            // a transaction, so it is set here rather than in a script.
            var mode = await ScalarAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);
            if (!string.Equals(mode as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new SchemaMigrationException($"Could not switch {_database.Describe()} to WAL mode (got '{mode}').");
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockAsync(connection, transaction, cancellationToken);
        await ExecuteAsync(connection, transaction, _database.Kind == StorageProviderKind.Sqlite
            ? $"""
              CREATE TABLE IF NOT EXISTS {HistoryTable} (
                  version    INTEGER NOT NULL PRIMARY KEY,
                  name       TEXT    NOT NULL,
                  applied_at TEXT    NOT NULL,
                  checksum   TEXT    NOT NULL
              );
              """
            : $"""
              CREATE TABLE IF NOT EXISTS {HistoryTable} (
                  version    integer     NOT NULL PRIMARY KEY,
                  name       text        NOT NULL,
                  applied_at timestamptz NOT NULL DEFAULT now(),
                  checksum   text        NOT NULL
              );
              """, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task LockAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (_database.Kind == StorageProviderKind.Postgres)
        {
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({PostgresLockKey});", cancellationToken);
        }
        // SQLite needs nothing more: Microsoft.Data.Sqlite begins transactions with BEGIN IMMEDIATE, which takes the
        // database's write lock up front, so two migrators cannot both see a script as pending.
    }

    private async Task<bool> HistoryExistsAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var sql = _database.Kind == StorageProviderKind.Sqlite
            ? $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{HistoryTable}';"
            : $"SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = '{HistoryTable}' AND schemaname = ANY (current_schemas(false));";
        var count = await ScalarAsync(connection, transaction, sql, cancellationToken);
        return Convert.ToInt64(count, System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private static async Task<IReadOnlyList<AppliedScript>> ReadHistoryAsync(
        DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT version, name, checksum FROM {HistoryTable} ORDER BY version;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<AppliedScript>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AppliedScript(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                reader.GetString(1), reader.GetString(2)));
        }
        return rows;
    }

    private async Task RecordAsync(DbConnection connection, DbTransaction transaction, MigrationScript script, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var now = _database.Kind == StorageProviderKind.Sqlite ? "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" : "now()";
        command.CommandText =
            $"INSERT INTO {HistoryTable} (version, name, applied_at, checksum) VALUES (@version, @name, {now}, @checksum);";
        AddParameter(command, "version", script.Version);
        AddParameter(command, "name", script.Name);
        AddParameter(command, "checksum", script.Checksum);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static int CommandTimeoutSeconds(DbConnection connection) =>
        new Npgsql.NpgsqlConnectionStringBuilder(connection.ConnectionString).CommandTimeout;

    private sealed record AppliedScript(int Version, string Name, string Checksum);
}
