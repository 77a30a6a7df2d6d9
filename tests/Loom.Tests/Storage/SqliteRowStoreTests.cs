using Microsoft.Data.Sqlite;

using Loom.Storage;
using Loom.Storage.Rows;
using Loom.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Storage;

public sealed class SqliteRowStoreTests : RowStoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("loom-rows-").FullName;

    protected override Task<Dictionary<string, string?>> CreateSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Loom:Storage:Provider"] = "sqlite",
        ["Loom:Storage:SqlitePath"] = Path.Combine(_directory, "loom.db"),
    });

    protected override Task PrepareForSiloAsync() => Task.CompletedTask;

    protected override Task InstallPoisonTriggerAsync() => ExecuteAsync("""
        CREATE TRIGGER poison BEFORE INSERT ON loom_grain_state WHEN NEW.state_name = 'poison'
        BEGIN SELECT RAISE(ABORT, 'poisoned row'); END;
        """);

    protected override async Task<IAsyncDisposable> HoldWritesAsync()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "loom.db")};Pooling=False");
        await connection.OpenAsync();
        // BEGIN IMMEDIATE: the write lock is taken now and held until the transaction ends (with the connection).
        var transaction = connection.BeginTransaction(deferred: false);
        return new Held(transaction, connection);
    }

    private sealed class Held(SqliteTransaction transaction, SqliteConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_log_is_checkpointed_beside_a_writer_that_never_pauses_and_stays_bounded()
    {
        var file = Path.Combine(_directory, "wal.db");
        var database = StorageDatabase.From(new StorageOptions { Provider = "sqlite", SqlitePath = file });
        await using var writer = new SqliteConnection($"Data Source={file};Pooling=False");
        await writer.OpenAsync();
        await Exec(writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (b BLOB);");
        var metrics = new StorageMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var checkpointer = new SqliteCheckpointer(database, metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            thresholdBytes: 32 * 1024, restartFrames: 64);

        // 3.2 MB without a pause: with the automatic checkpoint off, SQLite alone would keep all of it in the log.
        var blob = new byte[16 * 1024];
        for (var i = 0; i < 200; i++)
        {
            Random.Shared.NextBytes(blob);
            await using var insert = writer.CreateCommand();
            insert.CommandText = "INSERT INTO t (b) VALUES ($b)";
            insert.Parameters.AddWithValue("$b", blob);
            await insert.ExecuteNonQueryAsync();
            checkpointer.Written(blob.Length);
        }
        await checkpointer.Last.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(metrics.OperationCount(StorageOperation.Checkpoint) > 0, "no checkpoint ran");

        // Everything was copied, so the next transaction starts the log over: it holds a few frames, not ~1,000.
        await Exec(writer, "INSERT INTO t (b) VALUES (x'00')");
        await using var reader = new SqliteConnection($"Data Source={file};Pooling=False");
        await reader.OpenAsync();
        await using var probe = reader.CreateCommand();
        probe.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        await using (var result = await probe.ExecuteReaderAsync())
        {
            Assert.True(await result.ReadAsync());
            Assert.InRange(result.GetInt64(1), 0, 8);
        }
        await using var count = writer.CreateCommand();
        count.CommandText = "SELECT count(*) FROM t";
        Assert.Equal(201L, (long)(await count.ExecuteScalarAsync())!);

        static async Task Exec(SqliteConnection connection, string sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }
    }

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}
