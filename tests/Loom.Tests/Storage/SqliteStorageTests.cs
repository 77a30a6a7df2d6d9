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
        Assert.Equal(2, await ScalarAsync("SELECT COUNT(*) FROM loom_schema_migrations"));
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
