using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Configuration;

namespace Loom.Storage.Rows;

/// <summary>
/// <see cref="IReplicaRowReader"/> on the PostgreSQL standby named by <c>Loom:Storage:ReadConnectionString</c>: the
/// same table and keys as the primary (a streaming replica is a copy of it), read-only, its own small pool.
/// </summary>
internal sealed class PostgresReplicaRowReader : IReplicaRowReader, IAsyncDisposable
{
    private readonly NpgsqlDataSource _replica;
    private readonly string _serviceId;
    private readonly IGrainRowStore _primary;

    public PostgresReplicaRowReader(IOptions<StorageOptions> options, IOptions<ClusterOptions> cluster, IGrainRowStore primary)
    {
        _primary = primary;
        var connection = new NpgsqlConnectionStringBuilder(options.Value.ReadConnectionString)
        {
            MaxPoolSize = Math.Max(1, options.Value.MaxPoolSize / 2),
            // A standby refuses writes anyway; this also keeps a misconfigured primary address from being written to.
            Options = "-c default_transaction_read_only=on",
        };
        _replica = NpgsqlDataSource.Create(connection);
        _serviceId = cluster.Value.ServiceId;
    }

    public bool Enabled => true;

    public async Task<IReadOnlyDictionary<GrainId, StoredRow>> ReadHeadersAsync(IReadOnlyList<GrainId> grains, string name, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<GrainId, StoredRow>();
        if (grains.Count == 0) return found;
        var keys = grains.Select(g => (Grain: g, Key: RowKey.Of(g))).ToList();
        await using var command = _replica.CreateCommand("""
            SELECT k.i, t.payload, t.version
            FROM unnest($3::bigint[], $4::bigint[], $5::text[]) WITH ORDINALITY AS k(n0, n1, ext, i)
            JOIN loom_grain_state t ON t.service_id = $1 AND t.state_name = $2
                AND t.grain_id_n0 = k.n0 AND t.grain_id_n1 = k.n1 AND t.grain_id_ext = k.ext
            WHERE t.payload IS NOT NULL
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = _serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = keys.Select(k => k.Key.N0).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = keys.Select(k => k.Key.N1).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = keys.Select(k => k.Key.Ext).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var grain = keys[(int)reader.GetInt64(0) - 1].Grain;
            found[grain] = new StoredRow(name, (byte[])reader.GetValue(1), reader.GetInt32(2));
        }
        return found;
    }

    public async Task<IReplicaRows> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _replica.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            return new Snapshot(connection, transaction, new PostgresRowSql(_serviceId), _primary);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _replica.DisposeAsync();

    /// <summary>One connection in one transaction: its commands run one at a time (a connection takes one command at once).</summary>
    private sealed class Snapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, RowSql sql, IGrainRowStore primary) : IReplicaRows
    {
        private readonly SemaphoreSlim _one = new(1, 1);

        public async Task<StoredRow?> ReadAsync(GrainId grain, string name) => (await ReadAnyAsync(grain, [name])).FirstOrDefault();

        public async Task<IReadOnlyList<StoredRow>> ReadManyAsync(GrainId grain, IReadOnlyList<string> names) =>
            (await ReadAnyAsync(grain, names)).Where(r => r.Payload is not null).ToList();

        public Task<IReadOnlyList<StoredRow>> ListAsync(GrainId grain, string prefix) =>
            OneAtATimeAsync<IReadOnlyList<StoredRow>>(async () => RowPayloads.Unpack(await sql.ListAsync(connection, RowKey.Of(grain), prefix)));

        public Task<int> CommitAsync(RowCommit commit) => throw new InvalidOperationException("The read replica is read-only.");

        public byte[] Serialize<T>(T value) => primary.Serialize(value);

        public T Deserialize<T>(byte[] payload) => primary.Deserialize<T>(payload);

        private Task<List<StoredRow>> ReadAnyAsync(GrainId grain, IReadOnlyList<string> names) =>
            OneAtATimeAsync(async () => RowPayloads.Unpack(await sql.ReadAsync(connection, RowKey.Of(grain), names)));

        private async Task<T> OneAtATimeAsync<T>(Func<Task<T>> read)
        {
            await _one.WaitAsync();
            try
            {
                return await read();
            }
            finally
            {
                _one.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
            _one.Dispose();
        }
    }
}
