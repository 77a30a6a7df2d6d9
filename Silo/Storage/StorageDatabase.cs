using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Loom.Storage;

/// <summary>
/// The one database behind grain state and reminders: which ADO.NET invariant Orleans must use, the effective
/// connection string, and connections for the migrator.
/// </summary>
public sealed class StorageDatabase
{
    /// <summary>
    /// Orleans' name for SQLite. Orleans 10.4.2 maps "System.Data.SQLite" to Microsoft.Data.Sqlite's factory;
    /// the string "Microsoft.Data.Sqlite" is NOT a recognised invariant in either the grain storage or the
    /// reminders provider ("invariant name not supported").
    /// </summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    public const string PostgresInvariant = "Npgsql";

    private StorageDatabase(StorageProviderKind kind, string connectionString, string? sqliteFile, int sqlitePageSize = 0)
    {
        SqlitePageSize = sqlitePageSize;
        Kind = kind;
        ConnectionString = connectionString;
        SqliteFile = sqliteFile;
    }

    public StorageProviderKind Kind { get; }

    public string Invariant => Kind == StorageProviderKind.Sqlite ? SqliteInvariant : PostgresInvariant;

    public string ConnectionString { get; }

    /// <summary>Page size a new SQLite file is created with (0 for PostgreSQL).</summary>
    public int SqlitePageSize { get; }

    /// <summary>Absolute path of the SQLite file (null for PostgreSQL).</summary>
    public string? SqliteFile { get; }

    /// <summary>How long PostgreSQL lets a LOOM connection sit idle inside a transaction before it ends it.</summary>
    internal const int IdleTransactionTimeoutMs = 10_000;

    /// <summary>Statements Npgsql prepares per connection once one has run a few times (Max Auto Prepare).</summary>
    internal const int AutoPreparedStatements = 32;

    public static StorageDatabase From(StorageOptions options)
    {
        if (options.Kind == StorageProviderKind.Sqlite)
        {
            var file = Path.GetFullPath(options.SqlitePath);
            var sqlite = new SqliteConnectionStringBuilder
            {
                DataSource = file,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                // Microsoft.Data.Sqlite retries SQLITE_BUSY until the command timeout: this is the busy timeout
                // that lets several connections (and silos) share one WAL file.
                DefaultTimeout = 30,
            };
            return new StorageDatabase(StorageProviderKind.Sqlite, sqlite.ToString(), file, options.SqlitePageSize);
        }

        var npgsql = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            MaxPoolSize = options.MaxPoolSize,
        };
        if (npgsql.MinPoolSize > npgsql.MaxPoolSize)
        {
            npgsql.MinPoolSize = npgsql.MaxPoolSize;
        }
        if (string.IsNullOrEmpty(npgsql.ApplicationName))
        {
            npgsql.ApplicationName = "loom";
        }
        // A silo frozen inside a transaction (SIGSTOP, a stalled VM) keeps its connection open and with it its row locks,
        // so a session that moved meanwhile waited on them until the silo ran again (FailoverTests.Step1b). PostgreSQL
        // ends a transaction left idle this long; LOOM's take milliseconds. An operator's own setting in Options wins.
        if (npgsql.Options?.Contains("idle_in_transaction_session_timeout", StringComparison.Ordinal) != true)
        {
            npgsql.Options = $"{npgsql.Options} -c idle_in_transaction_session_timeout={IdleTransactionTimeoutMs}".Trim();
        }
        // The same few statements run on every connection all day (a commit's three, a read, Orleans' own): prepared, a
        // commit skips its parse and plan (a lone commit 1.0 -> 0.8 ms, docs/performance.md). An operator's own value
        // wins, e.g. 0 behind a pooler that cannot keep prepared statements.
        if (!Names(options.ConnectionString, "Max Auto Prepare"))
        {
            npgsql.MaxAutoPrepare = AutoPreparedStatements;
        }
        return new StorageDatabase(StorageProviderKind.Postgres, npgsql.ToString(), null);
    }

    /// <summary>Whether the connection string sets <paramref name="keyword"/> itself (spaces and case ignored).</summary>
    private static bool Names(string? connectionString, string keyword)
    {
        var wanted = keyword.Replace(" ", "", StringComparison.Ordinal);
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString ?? "" };
        return given.Keys.Cast<string>().Any(k => string.Equals(k.Replace(" ", "", StringComparison.Ordinal), wanted, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Creates the SQLite file's directory (a no-op for PostgreSQL).</summary>
    public void EnsureDirectory()
    {
        var directory = SqliteFile is null ? null : Path.GetDirectoryName(SqliteFile);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }

    /// <param name="commandTimeoutSeconds">
    /// PostgreSQL: the timeout of every command on this connection in place of the connection string's (0 = none).
    /// Ignored on SQLite, where the command timeout is the wait for a busy file and a running statement has no limit.
    /// </param>
    public DbConnection CreateConnection(int? commandTimeoutSeconds = null) => Kind == StorageProviderKind.Sqlite
        ? new SqliteConnection(ConnectionString)
        : new NpgsqlConnection(commandTimeoutSeconds is { } timeout
            ? new NpgsqlConnectionStringBuilder(ConnectionString) { CommandTimeout = timeout }.ToString()
            : ConnectionString);

    /// <summary>A description safe for logs and error messages (no password).</summary>
    public string Describe()
    {
        if (Kind == StorageProviderKind.Sqlite)
        {
            return $"SQLite file '{SqliteFile}'";
        }
        var b = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"PostgreSQL database '{b.Database}' on {b.Host}:{b.Port} as '{b.Username}'";
    }
}
