using Microsoft.Data.Sqlite;

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

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}
