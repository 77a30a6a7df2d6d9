using System.Data.Common;
using System.Diagnostics;
using Loom.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Loom.Storage.Rows;

/// <summary>
/// <see cref="IGrainRowStore"/> on the database behind the "loom" grain storage (SQLite or PostgreSQL), in its
/// table, keys and payload format (Orleans' binary serializer), with our own ADO.NET code so a commit is one
/// transaction. With <see cref="StorageOptions.GroupCommit"/> the commits of all grains of this silo share
/// transactions through a <see cref="GroupCommitWriter"/>.
/// </summary>
public sealed partial class SqlGrainRowStore : IGrainRowStore, IAsyncDisposable
{
    private readonly StorageDatabase _database;
    private readonly RowSql _sql;
    private readonly OrleansGrainStorageSerializer _serializer;
    private readonly GroupCommitWriter? _writer;
    private readonly StorageMetrics _metrics;
    private readonly SqliteCheckpointer? _checkpointer;
    private readonly ILogger _logger;
    private DbConnection? _writerConnection;
    private long _transactions;
    private long _commits;

    public SqlGrainRowStore(IOptions<StorageOptions> options, IOptions<ClusterOptions> cluster, Serializer serializer,
        StorageMetrics metrics, ILogger<SqlGrainRowStore> logger)
    {
        _metrics = metrics;
        _logger = logger;
        _database = StorageDatabase.From(options.Value);
        _sql = RowSql.For(_database, cluster.Value.ServiceId);
        _serializer = new OrleansGrainStorageSerializer(serializer);
        if (options.Value.GroupCommit) _writer = new GroupCommitWriter(WriteAsync, options.Value.GroupCommitMaxBatch, logger);
        if (_database.Kind == StorageProviderKind.Sqlite) _checkpointer = new SqliteCheckpointer(_database, metrics, logger);
    }

    /// <summary>The SQLite checkpoint in flight or last run (completed on PostgreSQL).</summary>
    internal Task LastCheckpoint => _checkpointer?.Last ?? Task.CompletedTask;

    /// <summary>Transactions written so far (a group commit counts once).</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Commits made durable so far.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>A cleared row comes back with no payload: its version still fences the next write.</summary>
    public async Task<StoredRow?> ReadAsync(GrainId grain, string name) => (await ReadAnyAsync(grain, [name])).FirstOrDefault();

    public async Task<IReadOnlyList<StoredRow>> ReadManyAsync(GrainId grain, IReadOnlyList<string> names)
    {
        var rows = await ReadAnyAsync(grain, names);
        return rows.Where(r => r.Payload is not null).ToList();
    }

    public async Task<IReadOnlyList<StoredRow>> ListAsync(GrainId grain, string prefix)
    {
        _metrics.Operation(StorageOperation.List);
        await using var connection = await OpenAsync();
        return RowPayloads.Unpack(await _sql.ListAsync(connection, RowKey.Of(grain), prefix));
    }

    public async Task<int> CommitAsync(RowCommit commit)
    {
        commit = RowPayloads.Pack(commit);
        var version = _writer is { } writer ? await writer.CommitAsync(commit) : (await WriteAsync([commit]))[0];
        return version ?? throw new InconsistentStateException(
            $"Version conflict: row '{commit.HeaderName}' of {commit.Grain} is no longer at version {commit.ExpectedVersion?.ToString() ?? "(none)"}.");
    }

    public byte[] Serialize<T>(T value) => _serializer.Serialize(value).ToArray();

    public T Deserialize<T>(byte[] payload) =>
        _serializer.Deserialize<T>(new BinaryData(payload)) ?? throw new InvalidDataException($"A stored {typeof(T).Name} row holds no value.");

    private async Task<List<StoredRow>> ReadAnyAsync(GrainId grain, IReadOnlyList<string> names)
    {
        _metrics.Operation(StorageOperation.Read);
        await using var connection = await OpenAsync();
        return RowPayloads.Unpack(await _sql.ReadAsync(connection, RowKey.Of(grain), names));
    }

    /// <summary>One transaction for all <paramref name="commits"/>.</summary>
    private async Task<int?[]> WriteAsync(IReadOnlyList<RowCommit> commits)
    {
        if (_writer is null)
        {
            await using var own = await OpenAsync();
            await _sql.PrepareWriterAsync(own);
            return await WriteOnAsync(own, commits);
        }
        // Group commit writes one transaction at a time, so it keeps one connection with its settings applied and
        // its statements prepared; a failed transaction drops it (the next one opens a fresh connection).
        var connection = _writerConnection ??= await OpenWriterAsync();
        try
        {
            return await WriteOnAsync(connection, commits);
        }
        catch
        {
            _writerConnection = null;
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task<DbConnection> OpenWriterAsync()
    {
        var connection = await OpenAsync();
        try
        {
            await _sql.PrepareWriterAsync(connection);
            _sql.KeepPrepared(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task<int?[]> WriteOnAsync(DbConnection connection, IReadOnlyList<RowCommit> commits)
    {
        var started = Stopwatch.GetTimestamp();
        var results = await _sql.WriteAsync(connection, commits);
        _metrics.TransactionTook(Stopwatch.GetElapsedTime(started).TotalSeconds);
        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _commits, results.Count(r => r is not null));
        _metrics.Operation(StorageOperation.Transaction);
        var written = PayloadBytes(commits, results);
        _metrics.Written(written);
        _checkpointer?.Written(written);
        return results;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _writerConnection, null) is { } connection)
        {
            try
            {
                await connection.DisposeAsync();
            }
            catch (Exception ex) when (ex is DbException or IOException or InvalidOperationException)
            {
                // A silo whose stop ran out of time is disposed with a commit still on this connection; closing it then
                // fails on the broken stream. The commit's own caller sees its failure; here it must not turn the stop into
                // an unhandled exception (exit 134, seen in FailoverTests.Step4).
                LogWriterCloseFailed(ex);
            }
        }
        await LastCheckpoint;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the storage writer's connection at shutdown failed")]
    private partial void LogWriterCloseFailed(Exception exception);

    /// <summary>Payload bytes of the commits that landed (a stale commit writes nothing).</summary>
    private static long PayloadBytes(IReadOnlyList<RowCommit> commits, int?[] results)
    {
        long bytes = 0;
        for (var i = 0; i < commits.Count; i++)
        {
            if (results[i] is null) continue;
            bytes += commits[i].HeaderPayload?.Length ?? 0;
            foreach (var row in commits[i].Rows) bytes += row.Payload?.Length ?? 0;
        }
        return bytes;
    }

    private async Task<DbConnection> OpenAsync()
    {
        var connection = _database.CreateConnection();
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
