using System.Data.Common;
using System.Diagnostics.Metrics;
using Loom.Storage;
using Loom.Storage.Rows;
using Loom.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Loom.Tests.Storage;

/// <summary>
/// The row store behind session commits, on SQLite and PostgreSQL alike: one transaction per commit (or per group),
/// the header's version fencing the whole commit, rows shared with Orleans' "loom" provider, and a failing or stale
/// commit in a group that fails alone.
/// </summary>
public abstract class RowStoreContractTests : IAsyncLifetime
{
    private const int Sessions = 64;

    protected readonly string ServiceId = "svc-" + Guid.NewGuid().ToString("N")[..8];

    protected IConfiguration Configuration { get; private set; } = null!;

    protected StorageDatabase Database { get; private set; } = null!;

    /// <summary>Loom:Storage settings for a fresh, empty database.</summary>
    protected abstract Task<Dictionary<string, string?>> CreateSettingsAsync();

    /// <summary>PostgreSQL needs the migrate command before a silo starts; SQLite migrates itself.</summary>
    protected abstract Task PrepareForSiloAsync();

    /// <summary>Makes the database refuse any row named "poison" (a failure inside the transaction, as a real constraint would).</summary>
    protected abstract Task InstallPoisonTriggerAsync();

    public async Task InitializeAsync()
    {
        Configuration = new ConfigurationBuilder().AddInMemoryCollection(await CreateSettingsAsync()).Build();
        Database = StorageDatabase.From(StorageOptions());
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected StorageOptions StorageOptions() => Configuration.GetSection(Loom.Storage.StorageOptions.SectionName).Get<StorageOptions>() ?? new();

    protected async Task<StorageCluster> StartClusterAsync()
    {
        await PrepareForSiloAsync();
        return await StorageCluster.StartAsync(Configuration, ServiceId);
    }

    /// <summary>Blocks every other writer of loom_grain_state until disposed.</summary>
    protected abstract Task<IAsyncDisposable> HoldWritesAsync();

    protected async Task ExecuteAsync(string sql)
    {
        await using var connection = Database.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_commit_writes_header_and_rows_in_one_transaction_that_the_orleans_provider_reads()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var id = GrainId.Create("rows", "one");
        var transactions = store.Transactions;

        var version = await store.CommitAsync(new RowCommit
        {
            Grain = id,
            HeaderName = "probe",
            HeaderPayload = store.Serialize(new ProbeState { Value = "header", Writes = 1 }),
            Rows = [Row(store, id, "turn.0", "first"), Row(store, id, "delta.0", "memory"), Row(store, id, "audit.0", "audit")],
        });

        Assert.Equal(1, version);
        Assert.Equal(transactions + 1, store.Transactions);
        var rows = await store.ReadManyAsync(id, ["turn.0", "missing", "delta.0", "audit.0"]);
        Assert.Equal(["first", "memory", "audit"], rows.Select(r => store.Deserialize<string>(r.Payload!)));
        // The provider reads what we wrote, and its ETag is our version.
        var state = new GrainState<ProbeState>();
        await cluster.Storage().ReadStateAsync("probe", id, state);
        Assert.Equal("header", state.State!.Value);
        Assert.Equal("1", state.ETag);
    }

    [Fact]
    public async Task A_stale_version_writes_nothing_of_the_commit_and_the_provider_fences_us_too()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var id = GrainId.Create("rows", "stale");
        await store.CommitAsync(Header(store, id, "v1", expected: null));

        // A second first write (another activation that read nothing) is stale.
        await Assert.ThrowsAsync<InconsistentStateException>(() => store.CommitAsync(Header(store, id, "again", expected: null, row: "orphan")));
        Assert.Null(await store.ReadAsync(id, "orphan"));

        // The Orleans provider writes the header (version 2): our commit expecting version 1 is now stale.
        var state = new GrainState<ProbeState>();
        await cluster.Storage().ReadStateAsync("probe", id, state);
        state.State!.Value = "by-provider";
        await cluster.Storage().WriteStateAsync("probe", id, state);
        await Assert.ThrowsAsync<InconsistentStateException>(() => store.CommitAsync(Header(store, id, "late", expected: 1, row: "late-row")));
        Assert.Null(await store.ReadAsync(id, "late-row"));
        Assert.Equal(3, await store.CommitAsync(Header(store, id, "current", expected: 2, row: "row")));
        Assert.Equal("current", store.Deserialize<ProbeState>((await store.ReadAsync(id, "probe"))!.Payload!).Value);
    }

    [Fact]
    public async Task Clear_keeps_the_version_and_deletes_the_rows_committed_with_it()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var id = GrainId.Create("rows", "clear");
        await store.CommitAsync(Header(store, id, "v1", expected: null, row: "turn.0"));

        await store.CommitAsync(new RowCommit { Grain = id, HeaderName = "probe", ExpectedVersion = 1, Rows = [new RowWrite(id, "turn.0", null)] });

        var header = await store.ReadAsync(id, "probe");
        Assert.NotNull(header);
        Assert.Null(header.Payload);
        Assert.Equal(2, header.Version);
        Assert.Null(await store.ReadAsync(id, "turn.0"));
        Assert.Empty(await store.ReadManyAsync(id, ["probe", "turn.0"]));
    }

    [Fact]
    public async Task Reading_many_names_finds_one_grains_rows_in_the_order_asked()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var mine = GrainId.Create("rows", "mine");
        var other = GrainId.Create("rows", "other");
        string[] names = ["memory.shard.1", "it's \"quoted\" \\ ünïcode", "memory.shard.0"];
        await store.CommitAsync(new RowCommit { Grain = mine, Rows = [.. names.Select(n => Row(store, mine, n, "mine " + n))] });
        await store.CommitAsync(new RowCommit { Grain = other, Rows = [.. names.Select(n => Row(store, other, n, "other " + n)), Row(store, other, "memory.shard.2", "other's")] });

        var asked = new[] { "memory.shard.0", "memory.shard.2", names[1], "memory.shard.1" };
        var rows = await store.ReadManyAsync(mine, asked);
        Assert.Equal(["memory.shard.0", names[1], "memory.shard.1"], rows.Select(r => r.Name));
        Assert.Equal(["mine memory.shard.0", "mine " + names[1], "mine memory.shard.1"], rows.Select(r => store.Deserialize<string>(r.Payload!)));
        Assert.Empty(await store.ReadManyAsync(mine, ["memory.shard.2", "memory.shard.3"]));
    }

    [Fact]
    public async Task List_finds_one_grains_rows_by_prefix()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var owner = GrainId.Create("rows", "owner");
        var other = GrainId.Create("rows", "other");
        var session = GrainId.Create("rows", "session");
        await store.CommitAsync(new RowCommit
        {
            Grain = session,
            Rows = [Row(store, owner, "usage.turn.a", "a"), Row(store, owner, "usage.turn.b", "b"), Row(store, owner, "usage", "header"),
                Row(store, owner, "usage.turnover", "not a pending row"), Row(store, other, "usage.turn.c", "c")],
        });

        var listed = await store.ListAsync(owner, "usage.turn.");
        Assert.Equal(["usage.turn.a", "usage.turn.b"], listed.Select(r => r.Name));
    }

    [Fact]
    public async Task Commits_queued_behind_a_running_transaction_share_the_next_one_and_each_is_durable()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var transactions = store.Transactions;
        var ids = Enumerable.Range(0, Sessions).Select(i => GrainId.Create("rows", $"s{i}")).ToList();

        // Another writer holds the table: the first commit waits inside its transaction, the rest queue behind it.
        var holder = await HoldWritesAsync();
        var entered = 0;
        var commits = ids.Select(id => Task.Run(() =>
        {
            var commit = store.CommitAsync(Header(store, id, "queued", expected: null, row: "turn.0"));
            Interlocked.Increment(ref entered);
            return commit;
        })).ToList();
        // Every commit but the waiting leader's has returned to its caller, i.e. is queued.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref entered) >= Sessions - 1, TimeSpan.FromSeconds(30)), "commits did not queue");
        await holder.DisposeAsync();

        Assert.All(await Task.WhenAll(commits), version => Assert.Equal(1, version));
        // The waiting leader's own transaction, then one (rarely two) for everything queued behind it.
        Assert.InRange(store.Transactions - transactions, 2, 3);
        foreach (var id in ids)
        {
            Assert.Equal(2, (await store.ReadManyAsync(id, ["probe", "turn.0"])).Count);
        }
    }

    [Fact]
    public async Task A_lone_commit_is_written_at_once_in_its_own_transaction()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        var transactions = store.Transactions;
        var id = GrainId.Create("rows", "lone");

        for (var turn = 0; turn < 5; turn++)
            await store.CommitAsync(Header(store, id, $"turn {turn}", expected: turn == 0 ? null : turn, row: $"turn.{turn}"));

        Assert.Equal(5, store.Transactions - transactions);
        Assert.Equal(5, (await store.ReadAsync(id, "probe"))!.Version);
    }

    [Fact]
    public async Task A_failing_commit_in_a_group_fails_alone_and_leaves_nothing_half_written()
    {
        await using var cluster = await StartClusterAsync();
        var store = cluster.Services.GetRequiredService<SqlGrainRowStore>();
        await InstallPoisonTriggerAsync();
        var ids = Enumerable.Range(0, 16).Select(i => GrainId.Create("rows", $"p{i}")).ToList();

        var commits = ids.Select((id, i) => store.CommitAsync(new RowCommit
        {
            Grain = id,
            HeaderName = "probe",
            HeaderPayload = store.Serialize(new ProbeState { Value = "h" }),
            Rows = [Row(store, id, "turn.0", "ok"), Row(store, id, i == 7 ? "poison" : "delta.0", "x")],
        })).ToList();
        // And a stale one in the same group: refused, the others unaffected.
        var staleId = GrainId.Create("rows", "stale-in-group");
        await store.CommitAsync(Header(store, staleId, "v1", expected: null));
        var stale = store.CommitAsync(Header(store, staleId, "stale", expected: 5, row: "turn.9"));

        for (var i = 0; i < ids.Count; i++)
        {
            if (i == 7)
            {
                await Assert.ThrowsAnyAsync<DbException>(() => commits[i]);
                Assert.Null(await store.ReadAsync(ids[i], "probe"));
                Assert.Null(await store.ReadAsync(ids[i], "turn.0"));
            }
            else
            {
                Assert.Equal(1, await commits[i]);
                Assert.Equal(2, (await store.ReadManyAsync(ids[i], ["turn.0", "delta.0"])).Count);
            }
        }
        await Assert.ThrowsAsync<InconsistentStateException>(() => stale);
        Assert.Null(await store.ReadAsync(staleId, "turn.9"));
    }

    [Fact]
    public async Task One_transaction_per_commit_when_group_commit_is_off()
    {
        await using var cluster = await StartClusterAsync();
        var options = StorageOptions();
        options.GroupCommit = false;
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new StorageMetrics(meters.GetRequiredService<IMeterFactory>());
        var store = new SqlGrainRowStore(Options.Create(options), Options.Create(new ClusterOptions { ServiceId = ServiceId }),
            cluster.Services.GetRequiredService<Serializer>(), metrics, NullLogger<SqlGrainRowStore>.Instance);

        var commits = Enumerable.Range(0, 8).Select(i => Header(store, GrainId.Create("rows", $"alone{i}"), "h", null, "turn.0")).ToList();
        await Task.WhenAll(commits.Select(store.CommitAsync));
        await store.ReadAsync(commits[0].Grain, "turn.0");

        Assert.Equal(8, store.Transactions);
        Assert.Equal(8, store.Commits);
        // The storage layer's own counters (loom_storage_*): one operation per transaction, every payload byte.
        Assert.Equal(8, metrics.OperationCount(StorageOperation.Transaction));
        Assert.Equal(1, metrics.OperationCount(StorageOperation.Read));
        Assert.Equal(commits.Sum(c => c.HeaderPayload!.Length + c.Rows.Sum(r => r.Payload!.Length)), metrics.BytesWritten);
    }

    private static RowWrite Row(IGrainRowStore store, GrainId grain, string name, string value) => new(grain, name, store.Serialize(value));

    private static RowCommit Header(IGrainRowStore store, GrainId id, string value, int? expected, string? row = null) => new()
    {
        Grain = id,
        HeaderName = "probe",
        HeaderPayload = store.Serialize(new ProbeState { Value = value }),
        ExpectedVersion = expected,
        Rows = row is null ? [] : [Row(store, id, row, value)],
    };
}
