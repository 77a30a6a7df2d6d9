using Loom.Storage;
using Loom.Storage.Migrations;
using Orleans.TestingHost;
using Microsoft.Data.Sqlite;

namespace Loom.Tests.Storage;

public sealed class SqliteStorageTests : StorageContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("loom-sqlite-").FullName;

    // A nested, not-yet-existing directory: start-up must create it.
    private string DatabaseFile => Path.Combine(_directory, "nested", "loom.db");

    protected override Task<Dictionary<string, string?>> CreateSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Loom:Storage:Provider"] = "sqlite",
        ["Loom:Storage:SqlitePath"] = DatabaseFile,
    });

    protected override Task PrepareForSiloAsync() => Task.CompletedTask;

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Silo_creates_and_migrates_the_file_at_startup_in_wal_mode()
    {
        Assert.False(File.Exists(DatabaseFile));
        await using (await StartClusterAsync())
        {
            Assert.True(File.Exists(DatabaseFile));
        }

        Assert.Equal("wal", await QueryAsync("PRAGMA journal_mode;"));
        Assert.Equal(3, await ScalarAsync("SELECT COUNT(*) FROM loom_schema_migrations"));
    }

    [Fact]
    public async Task A_file_from_the_previous_schema_keeps_its_rows_when_the_grain_state_table_is_rebuilt()
    {
        // A version-2 file, as the previous build left it, with one stored row.
        Directory.CreateDirectory(Path.GetDirectoryName(DatabaseFile)!);
        var scripts = MigrationCatalog.For(StorageProviderKind.Sqlite);
        await using (var old = new SqliteConnection(Database.ConnectionString))
        {
            await old.OpenAsync();
            foreach (var script in scripts.Take(2))
            {
                await using var apply = old.CreateCommand();
                apply.CommandText = script.Sql;
                await apply.ExecuteNonQueryAsync();
            }
            await using var record = old.CreateCommand();
            record.CommandText = """
                CREATE TABLE loom_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL, checksum TEXT NOT NULL);
                INSERT INTO loom_schema_migrations VALUES (1, 'storage', '2026-12-01', $c1), (2, 'reminders', '2026-12-01', $c2);
                INSERT INTO loom_grain_state VALUES ('svc', 'session', 7, 8, 'sx', x'0102', 5, '2026-12-01');
                """;
            record.Parameters.AddWithValue("$c1", scripts[0].Checksum);
            record.Parameters.AddWithValue("$c2", scripts[1].Checksum);
            await record.ExecuteNonQueryAsync();
        }

        var applied = await SchemaMigrator.Create(Database).MigrateAsync();

        Assert.Equal(["0003_grain_state_by_grain"], applied.Select(s => s.Id));
        Assert.Equal("session|5|0102", await QueryAsync(
            "SELECT state_name || '|' || version || '|' || hex(payload) FROM loom_grain_state WHERE grain_id_ext = 'sx'"));
        // A rowid table now, its key a unique index that starts with the grain.
        Assert.Equal("service_id,grain_id_n0,grain_id_n1,grain_id_ext,state_name", await QueryAsync(
            "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('loom_grain_state_key') ORDER BY seqno)"));
        Assert.Equal(1L, await ScalarAsync("SELECT \"unique\" FROM pragma_index_list('loom_grain_state') WHERE name = 'loom_grain_state_key'"));
    }

    [Fact]
    public async Task Orleans_does_not_accept_Microsoft_Data_Sqlite_as_the_invariant_name()
    {
        // Guards StorageDatabase.SqliteInvariant: Orleans 10.4.2 knows SQLite only as "System.Data.SQLite"
        // (which it maps to Microsoft.Data.Sqlite); the package name itself is rejected at start-up.
        await SchemaMigrator.Create(Database).MigrateAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddAdoNetGrainStorage("wrong", o =>
        {
            o.Invariant = "Microsoft.Data.Sqlite";
            o.ConnectionString = Database.ConnectionString;
        }));
        await using var cluster = builder.Build();

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => cluster.DeployAsync());
        // Orleans fails on its vendor-constants lookup ("The given key 'Microsoft.Data.Sqlite' was not present").
        Assert.Contains("'Microsoft.Data.Sqlite'", failure.ToString());
    }

    protected override async Task<string> SchemaSnapshotAsync() => (string)(await QueryAsync(
        "SELECT group_concat(type || ':' || name || ':' || coalesce(sql, ''), '|') FROM (SELECT * FROM sqlite_master ORDER BY name)") ?? "")
        + "#" + await QueryAsync("SELECT group_concat(version || name || applied_at || checksum, '|') FROM loom_schema_migrations");
}
