using Loom.Storage;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Loom.Tests.Storage;

public sealed class StorageOptionsTests
{
    private static (StorageOptions Options, IReadOnlyList<string> Failures) Validate(params (string Key, string? Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var options = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        var result = new StorageOptionsValidator().Validate(null, options);
        return (options, result.Failures?.ToList() ?? []);
    }

    [Fact]
    public void Defaults_are_embedded_sqlite_in_data_folder()
    {
        var (options, failures) = Validate();
        Assert.Empty(failures);
        Assert.Equal("data/loom.db", options.SqlitePath);
        Assert.Equal(20, options.MaxPoolSize);

        var database = StorageDatabase.From(options);
        Assert.Equal(StorageProviderKind.Sqlite, database.Kind);
        Assert.Equal("System.Data.SQLite", database.Invariant);
        Assert.Equal(Path.GetFullPath("data/loom.db"), database.SqliteFile);
    }

    [Fact]
    public void Postgres_without_connection_string_names_the_key()
    {
        var (_, failures) = Validate(("Loom:Storage:Provider", "postgres"));
        Assert.Contains(failures, f => f.Contains("Loom:Storage:ConnectionString is required"));
    }

    [Theory]
    [InlineData("sqlite", "Host=replica;Database=loom", "needs Loom:Storage:Provider 'postgres'")]
    [InlineData("postgres", "Database=loom", "Loom:Storage:ReadConnectionString has no Host")]
    [InlineData("postgres", "Host=replica;Bogus Key=1", "Loom:Storage:ReadConnectionString is not a valid Npgsql connection string")]
    public void A_read_replica_needs_postgres_and_a_usable_connection_string(string provider, string replica, string expected)
    {
        var (_, failures) = Validate(("Loom:Storage:Provider", provider), ("Loom:Storage:ConnectionString", "Host=primary;Password=s3cret;Database=loom"),
            ("Loom:Storage:ReadConnectionString", replica));
        var failure = Assert.Single(failures);
        Assert.Contains(expected, failure);
        Assert.DoesNotContain("s3cret", failure);
    }

    [Fact]
    public void A_read_replica_on_postgres_is_valid()
    {
        var (options, failures) = Validate(("Loom:Storage:Provider", "postgres"), ("Loom:Storage:ConnectionString", "Host=primary;Database=loom"),
            ("Loom:Storage:ReadConnectionString", "Host=replica;Database=loom"));
        Assert.Empty(failures);
        Assert.Equal("Host=replica;Database=loom", options.ReadConnectionString);
    }

    [Theory]
    [InlineData("mysql", "Loom:Storage:Provider must be 'sqlite' or 'postgres' (got 'mysql')")]
    [InlineData("", "Loom:Storage:Provider must be 'sqlite' or 'postgres'")]
    public void Unknown_provider_is_rejected(string provider, string expected)
    {
        var (_, failures) = Validate(("Loom:Storage:Provider", provider));
        Assert.Contains(failures, f => f.Contains(expected));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("5000")]
    public void Pool_size_out_of_range_is_rejected(string size)
    {
        var (_, failures) = Validate(("Loom:Storage:MaxPoolSize", size));
        Assert.Contains(failures, f => f.StartsWith("Loom:Storage:MaxPoolSize must be between 1 and 1000"));
    }

    [Fact]
    public void Malformed_connection_string_is_rejected_without_echoing_it()
    {
        var (_, failures) = Validate(("Loom:Storage:Provider", "Postgres"),
            ("Loom:Storage:ConnectionString", "Host=db;Password=hunter2;Bogus Keyword=1"));
        var failure = Assert.Single(failures);
        Assert.StartsWith("Loom:Storage:ConnectionString is not a valid Npgsql connection string", failure);
        Assert.DoesNotContain("hunter2", failure);
    }

    [Fact]
    public void Postgres_pool_is_capped_even_when_the_connection_string_asks_for_more()
    {
        var (options, failures) = Validate(("Loom:Storage:Provider", "postgres"),
            ("Loom:Storage:ConnectionString", "Host=db;Database=loom;Username=loom;Password=pw;Maximum Pool Size=100"));
        Assert.Empty(failures);

        var database = StorageDatabase.From(options);
        Assert.Contains("Maximum Pool Size=20", database.ConnectionString);
        Assert.Equal("Npgsql", database.Invariant);
        Assert.DoesNotContain("pw", database.Describe());
    }

    [Theory]
    [InlineData("", 32)]
    [InlineData(";Max Auto Prepare=0", 0)]
    [InlineData(";maxautoprepare=5", 5)]
    public void Postgres_statements_are_prepared_unless_the_connection_string_says_otherwise(string extra, int expected)
    {
        var database = StorageDatabase.From(new StorageOptions
        {
            Provider = "postgres",
            ConnectionString = "Host=db;Database=loom;Username=loom" + extra,
        });
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(database.ConnectionString).MaxAutoPrepare);
    }

    [Fact]
    public async Task Migrate_command_reports_bad_configuration_with_exit_code()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Loom:Storage:Provider", "postgres")])
            .Build();
        var error = new StringWriter();

        var code = await MigrateCommand.RunAsync(configuration, TextWriter.Null, error, CancellationToken.None);

        Assert.Equal(MigrateCommand.InvalidConfiguration, code);
        Assert.Contains("Loom:Storage:ConnectionString is required", error.ToString());
    }

    [Fact]
    public async Task Migrate_command_reports_an_unreachable_database()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([
                new("Loom:Storage:Provider", "postgres"),
                new("Loom:Storage:ConnectionString", $"Host=127.0.0.1;Port={Fixtures.FreePort.Next()};Username=x;Timeout=3"),
            ])
            .Build();
        var error = new StringWriter();

        var code = await MigrateCommand.RunAsync(configuration, TextWriter.Null, error, CancellationToken.None);

        Assert.Equal(MigrateCommand.DatabaseUnreachable, code);
        Assert.Contains("cannot use PostgreSQL database", error.ToString());
    }
}
