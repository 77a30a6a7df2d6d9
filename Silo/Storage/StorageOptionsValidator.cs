using Microsoft.Extensions.Options;
using Npgsql;

namespace Loom.Storage;

/// <summary>Rejects unusable storage settings at start-up with messages that name the configuration key.</summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    /// <summary>A day: a longer script is better run with no limit (0).</summary>
    internal const int MaxMigrationCommandTimeoutSeconds = 86_400;

    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        var provider = options.Provider?.Trim() ?? "";

        if (!string.Equals(provider, "sqlite", StringComparison.OrdinalIgnoreCase) &&
            !string.Equals(provider, "postgres", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"Loom:Storage:Provider must be 'sqlite' or 'postgres' (got '{options.Provider}').");
        }
        else if (options.Kind == StorageProviderKind.Sqlite)
        {
            if (string.IsNullOrWhiteSpace(options.SqlitePath))
            {
                failures.Add("Loom:Storage:SqlitePath must name the SQLite database file (default 'data/loom.db').");
            }
            else if (options.SqlitePath.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            {
                failures.Add($"Loom:Storage:SqlitePath '{options.SqlitePath}' is not a valid path.");
            }
        }
        else
        {
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                failures.Add("Loom:Storage:ConnectionString is required when Loom:Storage:Provider is 'postgres' " +
                             "(e.g. 'Host=db;Database=loom;Username=loom;Password=...').");
            }
            else
            {
                try
                {
                    var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                    if (string.IsNullOrWhiteSpace(builder.Host))
                    {
                        failures.Add("Loom:Storage:ConnectionString has no Host.");
                    }
                }
                catch (ArgumentException ex)
                {
                    // The message names the bad keyword; the connection string itself (with its password) is not echoed.
                    failures.Add($"Loom:Storage:ConnectionString is not a valid Npgsql connection string: {ex.Message}");
                }
            }
        }

        if (!string.IsNullOrWhiteSpace(options.ReadConnectionString))
        {
            if (options.Kind != StorageProviderKind.Postgres)
            {
                failures.Add("Loom:Storage:ReadConnectionString (a PostgreSQL read replica) needs Loom:Storage:Provider 'postgres'.");
            }
            else
            {
                try
                {
                    if (string.IsNullOrWhiteSpace(new NpgsqlConnectionStringBuilder(options.ReadConnectionString).Host))
                    {
                        failures.Add("Loom:Storage:ReadConnectionString has no Host.");
                    }
                }
                catch (ArgumentException ex)
                {
                    failures.Add($"Loom:Storage:ReadConnectionString is not a valid Npgsql connection string: {ex.Message}");
                }
            }
        }

        if (options.MaxPoolSize is < 1 or > 1000)
        {
            failures.Add($"Loom:Storage:MaxPoolSize must be between 1 and 1000 (got {options.MaxPoolSize}).");
        }

        if (options.SqlitePageSize is < 512 or > 65536 || (options.SqlitePageSize & (options.SqlitePageSize - 1)) != 0)
        {
            failures.Add($"Loom:Storage:SqlitePageSize must be a power of two from 512 to 65536 (got {options.SqlitePageSize}).");
        }

        if (options.GroupCommitMaxBatch is < 1 or > 10_000)
        {
            failures.Add($"Loom:Storage:GroupCommitMaxBatch must be between 1 and 10000 (got {options.GroupCommitMaxBatch}).");
        }

        if (options.MigrationCommandTimeoutSeconds is < 0 or > MaxMigrationCommandTimeoutSeconds)
        {
            failures.Add($"Loom:Storage:MigrationCommandTimeoutSeconds must be between 0 (no limit) and {MaxMigrationCommandTimeoutSeconds} " +
                         $"(got {options.MigrationCommandTimeoutSeconds}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
