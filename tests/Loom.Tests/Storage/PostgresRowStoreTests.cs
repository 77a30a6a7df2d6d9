using Loom.Storage;
using Loom.Tests.Fixtures;
using Npgsql;

namespace Loom.Tests.Storage;

[Collection(PostgresCollection.Name)]
public sealed class PostgresRowStoreTests(PostgresServer server) : RowStoreContractTests
{
    private readonly PostgresTestDatabase _database = new(server);

    protected override Task<Dictionary<string, string?>> CreateSettingsAsync() => _database.SettingsAsync();

    protected override Task PrepareForSiloAsync() => _database.MigrateOnceAsync(Configuration);

    protected override async Task<IAsyncDisposable> HoldWritesAsync()
    {
        var connection = (NpgsqlConnection)Database.CreateConnection();
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("LOCK TABLE loom_grain_state IN SHARE ROW EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }
        return new Held(transaction, connection);
    }

    private sealed class Held(NpgsqlTransaction transaction, NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await connection.DisposeAsync();
        }
    }

    protected override async Task InstallPoisonTriggerAsync()
    {
        await ExecuteAsync("""
            CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.state_name = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF;
                RETURN NEW;
            END $$;
            """);
        await ExecuteAsync("CREATE TRIGGER poison BEFORE INSERT ON loom_grain_state FOR EACH ROW EXECUTE FUNCTION poison()");
    }
}
