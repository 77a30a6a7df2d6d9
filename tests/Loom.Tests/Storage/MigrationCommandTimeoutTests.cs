using Loom.Storage;
using Loom.Storage.Migrations;
using Loom.Tests.Fixtures;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Loom.Tests.Storage;

/// <summary>
/// `migrate` runs schema scripts with no command timeout unless Loom:Storage:MigrationCommandTimeoutSeconds sets one:
/// a key rebuild over millions of rows (postgres.0003) ran into Npgsql's 30 s default. A script past the configured
/// limit is rolled back and reported in one line with exit code 4; Ctrl+C still stops a script that has no limit.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MigrationCommandTimeoutTests(PostgresServer postgres)
{
    private static readonly MigrationScript[] Sleeps2s = [new(1, "sleep", "SELECT pg_sleep(2);")];

    [Fact]
    public async Task A_script_past_the_configured_timeout_is_rolled_back_with_one_line_and_exit_code_4()
    {
        var database = await postgres.CreateDatabaseAsync();
        var error = new StringWriter();

        var code = await RunAsync(database + ";Password=not-shown", ("Loom:Storage:MigrationCommandTimeoutSeconds", "1"), error);

        Assert.True(code == MigrateCommand.MigrationRefused, $"exit code {code}: {error}");
        var line = Assert.Single(error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("migrate: Migration 0001_sleep did not finish within the command timeout of 1 s on PostgreSQL database", line);
        Assert.EndsWith("and was rolled back; raise Loom:Storage:MigrationCommandTimeoutSeconds (0 = no limit).", line);
        Assert.DoesNotContain("not-shown", line);
        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM loom_schema_migrations"));
    }

    [Fact]
    public async Task By_default_a_script_has_no_timeout_whatever_the_connection_string_says()
    {
        var database = await postgres.CreateDatabaseAsync();
        var error = new StringWriter();

        // The silos' own limit (here 1 s) is not the migration's.
        var code = await RunAsync(database + ";Command Timeout=1", null, error);

        Assert.True(code == MigrateCommand.Success, $"exit code {code}: {error}");
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM loom_schema_migrations"));
    }

    [Fact]
    public async Task A_script_without_a_timeout_still_stops_on_ctrl_c_with_exit_code_130()
    {
        var database = await postgres.CreateDatabaseAsync();
        using var ctrlC = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var error = new StringWriter();

        var started = DateTime.UtcNow;
        var code = await MigrateCommand.RunAsync(Configuration(database, null),
            [new MigrationScript(1, "sleep", "SELECT pg_sleep(60);")], TextWriter.Null, error, ctrlC.Token);

        Assert.True(code == MigrateCommand.Cancelled, $"exit code {code}: {error}");
        Assert.Equal("migrate: cancelled." + Environment.NewLine, error.ToString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("86401")]
    public async Task A_timeout_out_of_range_is_refused_with_exit_code_2(string seconds)
    {
        var error = new StringWriter();
        var code = await RunAsync("Host=127.0.0.1;Database=x;Username=x", ("Loom:Storage:MigrationCommandTimeoutSeconds", seconds), error);

        Assert.Equal(MigrateCommand.InvalidConfiguration, code);
        Assert.Contains($"Loom:Storage:MigrationCommandTimeoutSeconds must be between 0 (no limit) and 86400 (got {seconds}).", error.ToString());
    }

    private static Task<int> RunAsync(string connectionString, (string Key, string Value)? setting, TextWriter error) =>
        MigrateCommand.RunAsync(Configuration(connectionString, setting), Sleeps2s, TextWriter.Null, error, CancellationToken.None);

    private static IConfiguration Configuration(string connectionString, (string Key, string Value)? setting)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Storage:Provider"] = "postgres",
            ["Loom:Storage:ConnectionString"] = connectionString,
        };
        if (setting is { } s) settings[s.Key] = s.Value;
        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
