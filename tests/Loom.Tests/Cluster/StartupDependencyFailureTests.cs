using Loom.Storage;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Cluster;

/// <summary>
/// A host that cannot use what it depends on — a PostgreSQL nobody listens on, a database `migrate` has not prepared, a
/// Redis nobody listens on — says so in one line on stderr and exits with the code `migrate` gives the same fault: no
/// unhandled exception, no logged stack trace (the built processes, as an operator starts them).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StartupDependencyFailureTests(PostgresServer postgres)
{
    [Theory]
    [InlineData("Silo", "Loom.Silo.dll")]
    [InlineData("Gateway", "Loom.Gateway.dll")] // embedded: its co-hosted silo uses the database
    public async Task A_postgres_nobody_listens_on_is_one_line_and_exit_code_3(string project, string dll)
    {
        var port = FreePort.Next(); // bindable now, so nothing listens there
        var (exitCode, output) = await StartupConfigurationErrorTests.RunAsync(project, dll, Embedded(
            $"Host=127.0.0.1;Port={port};Database=loom;Username=loom;Password=not-shown;Timeout=5"));

        AssertOneLine(output, $"LOOM cannot start: Cannot read the schema version of PostgreSQL database 'loom' on 127.0.0.1:{port} as 'loom': Failed to connect to 127.0.0.1:{port}");
        Assert.DoesNotContain("not-shown", output);
        Assert.True(exitCode == MigrateCommand.DatabaseUnreachable, $"exit code {exitCode}:\n{output}");
    }

    [Fact]
    public async Task A_database_migrate_has_not_prepared_is_one_line_and_exit_code_4()
    {
        var database = await postgres.CreateDatabaseAsync();
        var (exitCode, output) = await StartupConfigurationErrorTests.RunAsync("Silo", "Loom.Silo.dll", Embedded(database));

        AssertOneLine(output, "LOOM cannot start: The schema of PostgreSQL database");
        Assert.Contains("is at version 0", output);
        Assert.Contains("run the migrate command first", output);
        Assert.True(exitCode == MigrateCommand.MigrationRefused, $"exit code {exitCode}:\n{output}");
    }

    [Fact]
    public async Task A_cluster_redis_nobody_listens_on_is_one_line_and_exit_code_3()
    {
        var redisPort = FreePort.Next();
        var (exitCode, output) = await StartupConfigurationErrorTests.RunAsync("Silo", "Loom.Silo.dll", new()
        {
            ["Loom__Cluster__Mode"] = "redis",
            ["Loom__Cluster__RedisConnectionString"] = $"127.0.0.1:{redisPort},connectTimeout=2000",
            ["Loom__Cluster__AdvertisedAddress"] = "127.0.0.1",
            ["Loom__Cluster__SiloPort"] = FreePort.Next().ToString(),
            ["Loom__Cluster__GatewayPort"] = FreePort.Next().ToString(),
            ["Loom__Storage__Provider"] = "sqlite", // RunAsync gives it a fresh file
        });

        AssertOneLine(output, "LOOM cannot start: Cannot connect to the cluster's Redis (Loom:Cluster:RedisConnectionString): It was not possible to connect to the redis server(s)");
        Assert.True(exitCode == MigrateCommand.DatabaseUnreachable, $"exit code {exitCode}:\n{output}");
    }

    [Fact]
    public void Only_dependency_failures_are_described_and_each_gets_migrates_exit_code()
    {
        var unreachable = new Loom.Storage.Migrations.SchemaMigrationException("Cannot read the schema version of X: refused",
            new Microsoft.Data.Sqlite.SqliteException("refused", 14));
        Assert.Equal(("Cannot read the schema version of X: refused", MigrateCommand.DatabaseUnreachable), Loom.Silo.Hosting.StartupFailures.Describe(unreachable));
        Assert.Equal(MigrateCommand.MigrationRefused,
            Loom.Silo.Hosting.StartupFailures.Describe(new Loom.Storage.Migrations.SchemaMigrationException("newer build"))?.ExitCode);
        Assert.Equal(MigrateCommand.DatabaseUnreachable,
            Loom.Silo.Hosting.StartupFailures.Describe(new AggregateException(new Microsoft.Data.Sqlite.SqliteException("locked", 5)))?.ExitCode);

        Assert.Null(Loom.Silo.Hosting.StartupFailures.Describe(new InvalidOperationException("a bug")));
        Assert.Null(Loom.Silo.Hosting.StartupFailures.Describe(new AggregateException(unreachable, new IOException("disk"))));

        var error = new StringWriter();
        Assert.Equal(3, Loom.Silo.Hosting.StartupFailures.Report(("first\nsecond", 3), error));
        Assert.Equal("LOOM cannot start: first second" + Environment.NewLine, error.ToString());
    }

    /// <summary>A single-process host on PostgreSQL, on ports of its own (the defaults may be another host's).</summary>
    private static Dictionary<string, string> Embedded(string connectionString) => new()
    {
        ["Loom__Cluster__Mode"] = "embedded",
        ["Loom__Cluster__SiloPort"] = FreePort.Next().ToString(),
        ["Loom__Cluster__GatewayPort"] = FreePort.Next().ToString(),
        ["Loom__Storage__Provider"] = "postgres",
        ["Loom__Storage__ConnectionString"] = connectionString,
    };

    private static void AssertOneLine(string output, string start)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one line, got {lines.Length}:\n{output}");
        Assert.StartsWith(start, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output);
    }
}
