using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Loom.Storage.Rows;

/// <summary>
/// SQLite: statements run one after another on the writer's connection (in process, so a statement costs
/// microseconds); a commit's header goes first and its rows only follow if the header's version matched.
/// </summary>
internal sealed class SqliteRowSql(string serviceId) : RowSql(serviceId)
{
    private const string Key = "service_id = $svc AND state_name = $name AND grain_id_n0 = $n0 AND grain_id_n1 = $n1 AND grain_id_ext = $ext";
    private const string Now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

    private const string InsertHeader = $"""
        INSERT INTO loom_grain_state (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_at)
        VALUES ($svc, $name, $n0, $n1, $ext, $payload, 1, {Now})
        ON CONFLICT (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext) DO NOTHING
        """;

    private const string UpdateHeader = $"""
        UPDATE loom_grain_state SET payload = $payload, version = version + 1, modified_at = {Now}
        WHERE {Key} AND version = $version
        """;

    private const string Upsert = $"""
        INSERT INTO loom_grain_state (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_at)
        VALUES ($svc, $name, $n0, $n1, $ext, $payload, 1, {Now})
        ON CONFLICT (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext) DO UPDATE
            SET payload = excluded.payload, version = loom_grain_state.version + 1, modified_at = excluded.modified_at
        """;

    private const string Delete = $"DELETE FROM loom_grain_state WHERE {Key}";

    private const string Select = $"SELECT state_name, payload, version FROM loom_grain_state WHERE {Key}";

    // The grain's rows among a JSON array of names: one index seek per name, in one statement.
    private const string SelectMany = """
        SELECT state_name, payload, version FROM loom_grain_state
        WHERE service_id = $svc AND grain_id_n0 = $n0 AND grain_id_n1 = $n1 AND grain_id_ext = $ext
          AND state_name IN (SELECT value FROM json_each($names))
        """;

    // WAL, NORMAL: a commit survives a process crash; only a power loss may take the last ones (see sqlite.0001_storage.sql).
    // No automatic checkpoint: it runs inside the COMMIT that crosses its threshold, so every commit queued behind that
    // one waits for the copy and its fsync; SqliteCheckpointer does it beside the writer instead.
    // SQLite's own busy handler: when Orleans' reminder or grain-state connections hold the write lock, the writer waits
    // in steps of a few milliseconds. Without it Microsoft.Data.Sqlite retries after 150 ms sleeps, and every accept
    // queued in the group commit waited with it (e2e, 100 users: accept 22.8-29.5 ms on average -> 1.3-2.6 ms).
    public override async Task PrepareWriterAsync(DbConnection connection)
    {
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = 30000;";
        await pragma.ExecuteNonQueryAsync();
    }

    public override async Task<int?[]> WriteAsync(DbConnection connection, IReadOnlyList<RowCommit> commits)
    {
        var sqlite = (SqliteConnection)connection;
        // A kept writer connection keeps its four statements prepared (parsing them was ~2 % of a turn's CPU);
        // a connection opened for one write gets commands that go with it.
        var reuse = _kept.TryGetValue(sqlite, out var kept);
        var commands = kept ?? new WriterCommands(this, sqlite);
        try
        {
            // BEGIN IMMEDIATE: the write lock is taken up front, so the transaction never fails half-way to upgrade it.
            await using var transaction = sqlite.BeginTransaction(deferred: false);
            commands.Enlist(transaction);
            var results = await WriteAsync(commands, commits);
            await transaction.CommitAsync();
            return results;
        }
        finally
        {
            if (!reuse) commands.Dispose();
        }
    }

    /// <summary>Keeps <paramref name="connection"/>'s write statements prepared for the connection's lifetime.</summary>
    public override void KeepPrepared(DbConnection connection) =>
        _kept.AddOrUpdate((SqliteConnection)connection, new WriterCommands(this, (SqliteConnection)connection));

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, WriterCommands> _kept = [];

    private sealed class WriterCommands(SqliteRowSql sql, SqliteConnection connection) : IDisposable
    {
        public readonly SqliteCommand InsertHeader = sql.Command(connection, null, SqliteRowSql.InsertHeader, payload: true);
        public readonly SqliteCommand UpdateHeader = sql.Command(connection, null, SqliteRowSql.UpdateHeader, payload: true, version: true);
        public readonly SqliteCommand Upsert = sql.Command(connection, null, SqliteRowSql.Upsert, payload: true);
        public readonly SqliteCommand Delete = sql.Command(connection, null, SqliteRowSql.Delete);

        public void Enlist(SqliteTransaction transaction) =>
            InsertHeader.Transaction = UpdateHeader.Transaction = Upsert.Transaction = Delete.Transaction = transaction;

        public void Dispose()
        {
            InsertHeader.Dispose();
            UpdateHeader.Dispose();
            Upsert.Dispose();
            Delete.Dispose();
        }
    }

    private static async Task<int?[]> WriteAsync(WriterCommands c, IReadOnlyList<RowCommit> commits)
    {
        var (insertHeader, updateHeader, upsert, delete) = (c.InsertHeader, c.UpdateHeader, c.Upsert, c.Delete);
        var results = new int?[commits.Count];
        for (var i = 0; i < commits.Count; i++)
        {
            var commit = commits[i];
            if (commit.HeaderName is { } header)
            {
                var command = commit.ExpectedVersion is null ? insertHeader : updateHeader;
                Bind(command, RowKey.Of(commit.Grain), header, commit.HeaderPayload, commit.ExpectedVersion);
                if (await command.ExecuteNonQueryAsync() != 1) continue;
                results[i] = (commit.ExpectedVersion ?? 0) + 1;
            }
            else
            {
                results[i] = 0;
            }
            foreach (var row in commit.Rows)
            {
                var command = row.Payload is null ? delete : upsert;
                Bind(command, RowKey.Of(row.Grain), row.Name, row.Payload, null);
                await command.ExecuteNonQueryAsync();
            }
        }
        return results;
    }

    public override async Task<List<StoredRow>> ReadAsync(DbConnection connection, RowKey key, IReadOnlyList<string> names)
    {
        if (names.Count == 1)
        {
            using var one = Command((SqliteConnection)connection, null, Select);
            Bind(one, key, names[0], null, null);
            return await CollectAsync(one);
        }
        // One statement for all names (a session's memory shards and deltas, a page of turn records): a statement per
        // name was a read transaction each, and a session's first load after an idle spell paid ~25 of them.
        using var many = Command((SqliteConnection)connection, null, SelectMany);
        Bind(many, key, "", null, null);
        many.Parameters.AddWithValue("$names", JsonSerializer.Serialize(names));
        var rows = (await CollectAsync(many)).ToDictionary(r => r.Name, StringComparer.Ordinal);
        return [.. names.Where(rows.ContainsKey).Select(n => rows[n])];
    }

    public override async Task<List<StoredRow>> ListAsync(DbConnection connection, RowKey key, string prefix)
    {
        using var list = Command((SqliteConnection)connection, null, """
            SELECT state_name, payload, version FROM loom_grain_state
            WHERE service_id = $svc AND state_name >= $name AND state_name < $upper
              AND grain_id_n0 = $n0 AND grain_id_n1 = $n1 AND grain_id_ext = $ext AND payload IS NOT NULL
            ORDER BY state_name
            """);
        Bind(list, key, prefix, null, null);
        list.Parameters.AddWithValue("$upper", UpperBound(prefix));
        return await CollectAsync(list);
    }

    private SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, bool payload = false, bool version = false)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$svc", ServiceId);
        command.Parameters.Add("$name", SqliteType.Text);
        command.Parameters.Add("$n0", SqliteType.Integer);
        command.Parameters.Add("$n1", SqliteType.Integer);
        command.Parameters.Add("$ext", SqliteType.Text);
        if (payload) command.Parameters.Add("$payload", SqliteType.Blob);
        if (version) command.Parameters.Add("$version", SqliteType.Integer);
        return command;
    }

    private static void Bind(SqliteCommand command, RowKey key, string name, byte[]? payload, int? version)
    {
        var p = command.Parameters;
        p["$name"].Value = name;
        p["$n0"].Value = key.N0;
        p["$n1"].Value = key.N1;
        p["$ext"].Value = key.Ext;
        if (p.Contains("$payload")) p["$payload"].Value = (object?)payload ?? DBNull.Value;
        if (p.Contains("$version")) p["$version"].Value = (object?)version ?? DBNull.Value;
    }
}
