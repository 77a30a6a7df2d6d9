using System.Diagnostics;
using Loom.Storage;
using Loom.Tests.Fixtures;
using Npgsql;

namespace Loom.Tests.Storage;

/// <summary>
/// A silo frozen inside a transaction (SIGSTOP, a stalled VM) keeps its connection open. PostgreSQL must end that
/// transaction on its own, or the session's new activation elsewhere waits on its row locks until the silo runs again.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresFrozenWriterTests(PostgresServer server)
{
    [Fact]
    public async Task A_writer_frozen_inside_its_transaction_loses_its_locks_instead_of_blocking_the_next_writer()
    {
        var database = StorageDatabase.From(new StorageOptions { Provider = "postgres", ConnectionString = await server.CreateDatabaseAsync() });
        await using var frozen = (NpgsqlConnection)database.CreateConnection();
        await frozen.OpenAsync();
        await Execute(frozen, null, "CREATE TABLE probe (id int PRIMARY KEY, v text); INSERT INTO probe VALUES (1, 'before')");
        var transaction = await frozen.BeginTransactionAsync();
        await Execute(frozen, transaction, "UPDATE probe SET v = 'frozen' WHERE id = 1"); // holds the row; then nothing more

        await using var next = (NpgsqlConnection)database.CreateConnection();
        await next.OpenAsync();
        var clock = Stopwatch.StartNew();
        await Execute(next, null, "UPDATE probe SET v = 'next' WHERE id = 1", timeoutSeconds: 60);

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(StorageDatabase.IdleTransactionTimeoutMs - 1000), TimeSpan.FromSeconds(40));
        await Assert.ThrowsAnyAsync<Exception>(() => transaction.CommitAsync()); // its transaction is gone, nothing of it lands
        await using var check = new NpgsqlCommand("SELECT v FROM probe WHERE id = 1", next);
        Assert.Equal("next", (string?)await check.ExecuteScalarAsync());
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, int timeoutSeconds = 30)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = timeoutSeconds };
        await command.ExecuteNonQueryAsync();
    }
}
