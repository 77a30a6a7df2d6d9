namespace Loom.Storage;

/// <summary>Settings bound from <c>Loom:Storage</c>; validated at start-up by <see cref="StorageOptionsValidator"/>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Loom:Storage";

    /// <summary>"sqlite" (embedded, local file, migrated automatically) or "postgres" (migrated by the migrate command).</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>SQLite database file; relative paths resolve against the working directory. Its directory is created.</summary>
    public string SqlitePath { get; set; } = "data/loom.db";

    /// <summary>
    /// Page size (bytes, a power of two from 512 to 65536) of a NEW SQLite file; an existing file keeps its own.
    /// WAL writes whole pages and a turn's rows sit in different places of the table, so the page size sets most
    /// of the bytes written per turn (measured in docs/performance.md).
    /// </summary>
    public int SqlitePageSize { get; set; } = 1024;

    /// <summary>Npgsql connection string (postgres only).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Npgsql connection string of a PostgreSQL read replica (a streaming standby of the primary; postgres only).
    /// When set, reads that do not belong to a live session (an owner's session list) are served from it and never
    /// from the primary; rows it has not replayed yet are read through their grains instead (docs/operations.md).
    /// </summary>
    public string? ReadConnectionString { get; set; }

    /// <summary>
    /// Npgsql pool cap per silo process. The default pool (100) lets two busy silos exhaust PostgreSQL's default
    /// max_connections (100); 20 leaves room for several silos plus operators. Overrides the connection string's value.
    /// </summary>
    public int MaxPoolSize { get; set; } = 20;

    /// <summary>
    /// Session commits of this silo share transactions: commits queued while one transaction runs go together in
    /// the next (each caller still waits for its own). False: one transaction per commit.
    /// </summary>
    public bool GroupCommit { get; set; } = true;

    /// <summary>Most commits one group transaction takes.</summary>
    public int GroupCommitMaxBatch { get; set; } = 256;

    /// <summary>
    /// The longest one command of the migrate command may take on PostgreSQL, in seconds; 0 (the default) = no limit.
    /// A script that rebuilds a large table (postgres.0003) runs far past Npgsql's 30 s default; Ctrl+C still stops it.
    /// </summary>
    public int MigrationCommandTimeoutSeconds { get; set; }

    internal StorageProviderKind Kind =>
        string.Equals(Provider?.Trim(), "postgres", StringComparison.OrdinalIgnoreCase)
            ? StorageProviderKind.Postgres
            : StorageProviderKind.Sqlite;
}

public enum StorageProviderKind
{
    Sqlite,
    Postgres,
}
