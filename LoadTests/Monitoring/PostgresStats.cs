using Npgsql;

namespace Loom.LoadTests.Monitoring;

/// <summary>
/// PostgreSQL's own view of the work LOOM gave it (<c>--pg CONNECTION</c>): transactions and block reads from
/// <c>pg_stat_database</c> (this database), and I/O operations from <c>pg_stat_io</c> (PostgreSQL 16+; the whole
/// server: reads, writes, extends and fsyncs of every backend type), plus WAL bytes from <c>pg_stat_wal</c> and, on servers without <c>pg_stat_io</c>, data pages written from
/// <c>pg_stat_bgwriter</c>.
/// Counters are cumulative, so a phase is the difference of two snapshots.
/// </summary>
public sealed record PostgresStats(long Transactions, long BlocksRead, long? IoOperations, long? WalBytes, long? BuffersWritten)
{
    public static async Task<PostgresStats?> ReadAsync(string? connectionString, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) return null;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        // Statistics are snapshotted per transaction; clear so two reads in one session see new values.
        await using (var clear = new NpgsqlCommand("SELECT pg_stat_clear_snapshot()", connection)) await clear.ExecuteNonQueryAsync(ct);

        long transactions, blocksRead;
        await using (var db = new NpgsqlCommand(
            "SELECT xact_commit + xact_rollback, blks_read FROM pg_stat_database WHERE datname = current_database()", connection))
        await using (var reader = await db.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            transactions = reader.GetInt64(0);
            blocksRead = reader.GetInt64(1);
        }

        var io = await ScalarOrNullAsync(connection,
            "SELECT (coalesce(sum(reads), 0) + coalesce(sum(writes), 0) + coalesce(sum(extends), 0) + coalesce(sum(fsyncs), 0))::bigint FROM pg_stat_io", ct);
        var wal = await ScalarOrNullAsync(connection, "SELECT wal_bytes::bigint FROM pg_stat_wal", ct);
        // Before pg_stat_io (PostgreSQL 15 and older): data pages written by checkpoints, the background writer and backends.
        var written = await ScalarOrNullAsync(connection,
            "SELECT (buffers_checkpoint + buffers_clean + buffers_backend)::bigint FROM pg_stat_bgwriter", ct);
        return new PostgresStats(transactions, blocksRead, io, wal, written);
    }

    public static PostgresStats? Delta(PostgresStats? before, PostgresStats? after) =>
        before is null || after is null ? null : new PostgresStats(
            after.Transactions - before.Transactions,
            after.BlocksRead - before.BlocksRead,
            after.IoOperations - before.IoOperations,
            after.WalBytes - before.WalBytes,
            after.BuffersWritten - before.BuffersWritten);

    /// <summary>The view's figure, or null when the server is too old to have the view (pg_stat_io is PostgreSQL 16+).</summary>
    private static async Task<long?> ScalarOrNullAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        try
        {
            await using var command = new NpgsqlCommand(sql, connection);
            return await command.ExecuteScalarAsync(ct) is long value ? value : null;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn)
        {
            return null;
        }
    }
}
