using System.Data.Common;

namespace Loom.Storage.Rows;

/// <summary>
/// The SQL of the row store for one database kind, on the table Orleans' provider uses (loom_grain_state).
/// Versions follow the provider's protocol: a new row gets 1, every write or clear adds 1.
/// </summary>
internal abstract class RowSql(string serviceId)
{
    protected string ServiceId { get; } = serviceId;

    public static RowSql For(StorageDatabase database, string serviceId) => database.Kind == StorageProviderKind.Sqlite
        ? new SqliteRowSql(serviceId)
        : new PostgresRowSql(serviceId);

    /// <summary>Per-connection settings, run once a connection is opened for writing.</summary>
    public virtual Task PrepareWriterAsync(DbConnection connection) => Task.CompletedTask;

    /// <summary>Called for a writer connection that is kept open across transactions: its statements may stay prepared.</summary>
    public virtual void KeepPrepared(DbConnection connection)
    {
    }

    /// <summary>
    /// Writes the commits in ONE transaction, durable when the task completes. Per commit: its header's new version,
    /// or null when the header's version was stale, in which case none of that commit's rows were written.
    /// </summary>
    public abstract Task<int?[]> WriteAsync(DbConnection connection, IReadOnlyList<RowCommit> commits);

    public abstract Task<List<StoredRow>> ReadAsync(DbConnection connection, RowKey key, IReadOnlyList<string> names);

    public abstract Task<List<StoredRow>> ListAsync(DbConnection connection, RowKey key, string prefix);

    /// <summary>Exclusive upper bound of the names starting with <paramref name="prefix"/>.</summary>
    protected static string UpperBound(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);

    protected static async Task<List<StoredRow>> CollectAsync(DbCommand command)
    {
        var rows = new List<StoredRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new StoredRow(reader.GetString(0), reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1), reader.GetInt32(2)));
        }
        return rows;
    }
}
