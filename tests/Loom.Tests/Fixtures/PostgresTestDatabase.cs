using Loom.Storage;
using Microsoft.Extensions.Configuration;

namespace Loom.Tests.Fixtures;

/// <summary>A fresh database on the shared test server for one test class, migrated once before its first silo.</summary>
public sealed class PostgresTestDatabase(PostgresServer server)
{
    private bool _migrated;

    public async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Loom:Storage:Provider"] = "postgres",
        ["Loom:Storage:ConnectionString"] = await server.CreateDatabaseAsync(),
        ["Loom:Storage:MaxPoolSize"] = "10",
    };

    public async Task MigrateOnceAsync(IConfiguration configuration)
    {
        if (_migrated) return;
        Assert.Equal(0, await MigrateCommand.RunAsync(configuration, TextWriter.Null, TextWriter.Null, CancellationToken.None));
        _migrated = true;
    }
}
