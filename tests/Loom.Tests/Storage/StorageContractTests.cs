using System.Data.Common;
using Loom.Storage;
using Loom.Storage.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;

namespace Loom.Tests.Storage;

/// <summary>
/// The storage contract, run against SQLite and PostgreSQL alike: through a real silo wired with AddLoomStorage,
/// and through the "loom" provider directly where a test needs two conflicting writers.
/// </summary>
public abstract class StorageContractTests : IAsyncLifetime
{
    private const string StateName = "probe";

    protected readonly string ServiceId = "svc-" + Guid.NewGuid().ToString("N")[..8];

    protected IConfiguration Configuration { get; private set; } = null!;

    protected StorageDatabase Database { get; private set; } = null!;

    /// <summary>Loom:Storage settings for a fresh, empty database.</summary>
    protected abstract Task<Dictionary<string, string?>> CreateSettingsAsync();

    /// <summary>PostgreSQL needs the migrate command before a silo starts; SQLite migrates itself.</summary>
    protected abstract Task PrepareForSiloAsync();

    public async Task InitializeAsync()
    {
        Configuration = new ConfigurationBuilder().AddInMemoryCollection(await CreateSettingsAsync()).Build();
        Database = StorageDatabase.From(Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new());
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected async Task<StorageCluster> StartClusterAsync()
    {
        await PrepareForSiloAsync();
        return await StorageCluster.StartAsync(Configuration, ServiceId);
    }

    [Fact]
    public async Task Grain_state_survives_a_new_silo_on_the_same_database()
    {
        await using (var cluster = await StartClusterAsync())
        {
            var grain = cluster.Client.GetGrain<IStorageProbeGrain>("keeper");
            await grain.SetAsync("lantern");
            await grain.SetAsync("lighthouse");
        }

        await using (var cluster = await StartClusterAsync())
        {
            var state = await cluster.Client.GetGrain<IStorageProbeGrain>("keeper").GetAsync();
            Assert.Equal("lighthouse", state.Value);
            Assert.Equal(2, state.Writes);
        }
    }

    [Fact]
    public async Task Stale_etag_is_rejected_and_nothing_is_overwritten()
    {
        await using var cluster = await StartClusterAsync();
        var storage = cluster.Storage();
        var id = GrainId.Create("probe", "stale");

        var original = new GrainState<ProbeState>(new ProbeState { Value = "v1" });
        await storage.WriteStateAsync(StateName, id, original);
        Assert.Equal("1", original.ETag);

        var a = await ReadAsync(storage, id);
        var b = await ReadAsync(storage, id);
        a.State!.Value = "from-a";
        await storage.WriteStateAsync(StateName, id, a);
        Assert.Equal("2", a.ETag);

        b.State!.Value = "from-b";
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, b));

        var stored = await ReadAsync(storage, id);
        Assert.Equal("from-a", stored.State!.Value);
        Assert.Equal("2", stored.ETag);
    }

    [Fact]
    public async Task Racing_first_writes_leave_one_row_and_one_winner()
    {
        await using var cluster = await StartClusterAsync();
        var storage = cluster.Storage();
        const int Keys = 8;

        for (var k = 0; k < Keys; k++)
        {
            var id = GrainId.Create("probe", $"race-{k}");
            var writers = Enumerable.Range(0, 4)
                .Select(n => new GrainState<ProbeState>(new ProbeState { Value = $"writer-{n}" }))
                .ToArray();
            var won = await Task.WhenAll(writers.Select(w => Task.Run(async () =>
            {
                try
                {
                    await storage.WriteStateAsync(StateName, id, w);
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            })));

            Assert.Single(won, x => x);
            var stored = await ReadAsync(storage, id);
            Assert.Equal(writers[Array.IndexOf(won, true)].State!.Value, stored.State!.Value);
            Assert.Equal("1", stored.ETag);
        }

        Assert.Equal(Keys, await CountStateRowsAsync());
    }

    [Fact]
    public async Task Write_with_a_version_whose_row_is_gone_is_rejected()
    {
        await using var cluster = await StartClusterAsync();
        var storage = cluster.Storage();
        var id = GrainId.Create("probe", "vanished");
        var state = new GrainState<ProbeState>(new ProbeState { Value = "here" });
        await storage.WriteStateAsync(StateName, id, state);

        await ExecuteAsync("DELETE FROM loom_grain_state");
        state.State!.Value = "resurrected";

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, state));
        Assert.Equal(0, await CountStateRowsAsync());
    }

    [Fact]
    public async Task Clear_empties_the_state_but_keeps_the_version()
    {
        await using var cluster = await StartClusterAsync();
        var storage = cluster.Storage();
        var id = GrainId.Create("probe", "cleared");
        var state = new GrainState<ProbeState>(new ProbeState { Value = "memory" });
        await storage.WriteStateAsync(StateName, id, state);
        var stale = await ReadAsync(storage, id);

        await storage.ClearStateAsync(StateName, id, state);
        Assert.Equal("2", state.ETag);
        Assert.False(state.RecordExists);

        var read = await ReadAsync(storage, id);
        Assert.False(read.RecordExists);
        Assert.Null(read.State!.Value);
        Assert.Equal("2", read.ETag);

        stale.State!.Value = "stale";
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, stale));

        read.State!.Value = "fresh";
        await storage.WriteStateAsync(StateName, id, read);
        Assert.Equal("3", read.ETag);
        Assert.Equal("fresh", (await ReadAsync(storage, id)).State!.Value);
        Assert.Equal(1, await CountStateRowsAsync());
    }

    [Fact]
    public async Task Clear_through_a_grain_resets_its_state()
    {
        await using var cluster = await StartClusterAsync();
        var grain = cluster.Client.GetGrain<IStorageProbeGrain>("forgetful");
        await grain.SetAsync("remember me");
        await grain.ClearAsync();
        await grain.SetAsync("again");

        var state = await grain.GetAsync();
        Assert.Equal("again", state.Value);
        Assert.Equal(1, state.Writes);
    }

    [Fact]
    public async Task Delete_on_clear_removes_the_row()
    {
        await using var cluster = await StartClusterAsync();
        var storage = cluster.Storage(StorageCluster.DeletingProvider);
        var id = GrainId.Create("probe", "deleted");
        var state = new GrainState<ProbeState>(new ProbeState { Value = "doomed" });
        await storage.WriteStateAsync(StateName, id, state);
        var stale = await ReadAsync(storage, id);
        state.State!.Value = "newer";
        await storage.WriteStateAsync(StateName, id, state);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(StateName, id, stale));
        Assert.Equal(1, await CountStateRowsAsync());

        await storage.ClearStateAsync(StateName, id, state);
        Assert.Null(state.ETag);
        Assert.Equal(0, await CountStateRowsAsync());

        var reborn = new GrainState<ProbeState>(new ProbeState { Value = "reborn" });
        await storage.WriteStateAsync(StateName, id, reborn);
        Assert.Equal("1", reborn.ETag);
    }

    [Fact]
    public async Task Reminder_rows_upsert_read_and_delete()
    {
        await using var cluster = await StartClusterAsync();
        var table = cluster.Services.GetRequiredService<IReminderTable>();
        Assert.Equal("AdoNetReminderTable", table.GetType().Name);

        var grain = GrainId.Create("probe", "reminded");
        var start = new DateTime(2030, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
        var etag1 = await table.UpsertRow(new ReminderEntry
        {
            GrainId = grain, ReminderName = "tick", StartAt = start, Period = TimeSpan.FromMinutes(5),
        });

        var row = await table.ReadRow(grain, "tick");
        Assert.NotNull(row);
        Assert.Equal(start, row.StartAt);
        Assert.Equal(DateTimeKind.Utc, row.StartAt.Kind);
        Assert.Equal(TimeSpan.FromMinutes(5), row.Period);
        Assert.Equal(etag1, row.ETag);

        // Periods beyond int milliseconds (~24.8 days) are bound as bigint.
        var etag2 = await table.UpsertRow(new ReminderEntry
        {
            GrainId = grain, ReminderName = "tick", StartAt = start, Period = TimeSpan.FromDays(40),
        });
        Assert.NotEqual(etag1, etag2);
        Assert.Equal(TimeSpan.FromDays(40), Assert.Single((await table.ReadRows(grain)).Reminders).Period);

        var hash = grain.GetUniformHashCode();
        Assert.Single((await table.ReadRows(hash - 1, hash)).Reminders);   // (begin, end] contains it
        Assert.Empty((await table.ReadRows(hash, hash + 1)).Reminders);    // begin is exclusive
        Assert.Single((await table.ReadRows(hash, hash)).Reminders);       // whole ring

        Assert.False(await table.RemoveRow(grain, "tick", etag1!));
        Assert.NotNull(await table.ReadRow(grain, "tick"));
        Assert.True(await table.RemoveRow(grain, "tick", etag2!));
        Assert.Null(await table.ReadRow(grain, "tick"));
    }

    [Fact]
    public async Task Grain_reminders_are_stored_in_the_database()
    {
        await using var cluster = await StartClusterAsync();
        var grain = cluster.Client.GetGrain<IReminderProbeGrain>("alarm");
        await grain.RegisterAsync("nightly");
        Assert.True(await grain.HasAsync("nightly"));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM loom_reminders WHERE reminder_name = 'nightly'"));

        await grain.UnregisterAsync("nightly");
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM loom_reminders"));
    }

    [Fact]
    public async Task Migration_is_idempotent()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, await MigrateCommand.RunAsync(Configuration, output, error, CancellationToken.None));
        Assert.Contains("applied 0001_storage", output.ToString());
        Assert.Contains("applied 0002_reminders", output.ToString());
        var before = await SchemaSnapshotAsync();

        output = new StringWriter();
        Assert.Equal(0, await MigrateCommand.RunAsync(Configuration, output, error, CancellationToken.None));
        Assert.Contains($"up to date at version {MigrationCatalog.For(Database.Kind).Count}", output.ToString());
        Assert.DoesNotContain("applied", output.ToString());
        Assert.Equal(before, await SchemaSnapshotAsync());
        Assert.Equal(11, await ScalarAsync("SELECT COUNT(*) FROM OrleansQuery"));
        Assert.True((await SchemaMigrator.Create(Database).GetStatusAsync()).IsCurrent);
        Assert.Equal("", error.ToString());
    }

    [Fact]
    public async Task Changed_or_unknown_scripts_are_refused()
    {
        var scripts = MigrationCatalog.For(Database.Kind);
        await new SchemaMigrator(Database, scripts).MigrateAsync();

        var edited = scripts.Select(s => s.Version == 1 ? s with { Sql = s.Sql + "\n-- edited" } : s).ToList();
        var changed = await Assert.ThrowsAsync<SchemaMigrationException>(() => new SchemaMigrator(Database, edited).MigrateAsync());
        Assert.Contains("0001_storage was changed after it was applied", changed.Message);
        Assert.Single((await new SchemaMigrator(Database, edited).GetStatusAsync()).Problems);

        var older = await Assert.ThrowsAsync<SchemaMigrationException>(() => new SchemaMigrator(Database, scripts.Take(1).ToList()).MigrateAsync());
        Assert.Contains("newer build", older.Message);
    }

    [Fact]
    public async Task Concurrent_migrators_apply_each_script_once()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 3)
            .Select(_ => Task.Run(() => SchemaMigrator.Create(Database).MigrateAsync())));

        var scripts = MigrationCatalog.For(Database.Kind).Count;
        Assert.Equal(scripts, runs.Sum(r => r.Count));
        Assert.Equal(scripts, await ScalarAsync("SELECT COUNT(*) FROM loom_schema_migrations"));
    }

    protected abstract Task<string> SchemaSnapshotAsync();

    private static async Task<GrainState<ProbeState>> ReadAsync(IGrainStorage storage, GrainId id)
    {
        var state = new GrainState<ProbeState>(new ProbeState());
        await storage.ReadStateAsync(StateName, id, state);
        return state;
    }

    private async Task<long> CountStateRowsAsync() =>
        await ScalarAsync($"SELECT COUNT(*) FROM loom_grain_state WHERE service_id = '{ServiceId}' AND state_name = '{StateName}'");

    protected async Task<long> ScalarAsync(string sql) => Convert.ToInt64(await QueryAsync(sql));

    protected async Task<object?> QueryAsync(string sql)
    {
        await using var connection = Database.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    protected async Task ExecuteAsync(string sql)
    {
        await using DbConnection connection = Database.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
