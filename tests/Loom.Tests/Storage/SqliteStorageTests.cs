using Loom.Storage;
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

    protected override async Task<string> SchemaSnapshotAsync() => (string)(await QueryAsync(
        "SELECT group_concat(type || ':' || name || ':' || coalesce(sql, ''), '|') FROM (SELECT * FROM sqlite_master ORDER BY name)") ?? "")
        + "#" + await QueryAsync("SELECT group_concat(version || name || applied_at || checksum, '|') FROM loom_schema_migrations");
}
