using Loom.Storage;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Storage;

[Collection(PostgresCollection.Name)]
public sealed class PostgresStorageTests(PostgresServer server) : StorageContractTests
{
    private readonly PostgresTestDatabase _database = new(server);

    protected override Task<Dictionary<string, string?>> CreateSettingsAsync() => _database.SettingsAsync();

    protected override Task PrepareForSiloAsync() => _database.MigrateOnceAsync(Configuration);

    [Fact]
    public async Task Silo_refuses_to_start_on_an_unmigrated_database_and_creates_nothing()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => StorageCluster.StartAsync(Configuration, ServiceId));

        var messages = string.Join("\n", Flatten(failure).Select(e => e.Message));
        Assert.Contains("run the migrate command", messages);
        Assert.Contains("is at version 0, this build needs 3", messages);
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    [Fact]
    public void Pool_is_capped_by_MaxPoolSize()
    {
        Assert.Contains("Maximum Pool Size=10", Database.ConnectionString);
        Assert.Equal("Npgsql", Database.Invariant);
    }

    [Fact]
    public async Task Listing_one_grains_rows_by_prefix_seeks_to_that_grain()
    {
        await PrepareForSiloAsync();
        await using var connection = Database.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        // Sequential scans off, so the plan shows which key columns the index seeks on even in a small table: with the
        // state name first in the key (before 0003) the grain's columns came after the name's range: every row of the
        // service with that prefix, of every grain, was read.
        command.CommandText = """
            SET enable_seqscan = off;
            EXPLAIN SELECT state_name, payload, version FROM loom_grain_state
            WHERE service_id = 'svc' AND grain_id_n0 = 1 AND grain_id_n1 = 2 AND grain_id_ext = ''
              AND starts_with(state_name, 'index.session.') AND payload IS NOT NULL
            ORDER BY state_name
            """;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));
        Assert.True(plan.Any(line => line.Contains(
            "Index Cond: ((service_id = 'svc'::text) AND (grain_id_n0 = 1) AND (grain_id_n1 = 2) AND (grain_id_ext = ''::text)",
            StringComparison.Ordinal)), string.Join("\n", plan));
    }

    protected override async Task<string> SchemaSnapshotAsync() =>
        (string?)await QueryAsync("""
            SELECT string_agg(table_name || '.' || column_name || ':' || data_type, '|' ORDER BY table_name, column_name)
            FROM information_schema.columns WHERE table_schema = 'public'
            """) + "#" +
        (string?)await QueryAsync("""
            SELECT string_agg(version || name || applied_at::text || checksum, '|' ORDER BY version) FROM loom_schema_migrations
            """);

    private static IEnumerable<Exception> Flatten(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }
}
