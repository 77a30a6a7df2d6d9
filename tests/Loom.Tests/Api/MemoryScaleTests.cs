using System.Diagnostics;
using System.Net;
using Loom.Memory;
using Loom.Sessions;
using Loom.Tests.Memory;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Loom.Storage;
using Loom.Tests.Storage;
using Xunit.Abstractions;

namespace Loom.Tests.Api;

/// <summary>A session with 10,000 entities in real (SQLite) storage: activation cost and what turns write.</summary>
public sealed class MemoryScaleTests(ITestOutputHelper output)
{
    private const int Entities = 10_000;

    [Fact]
    public async Task A_turn_at_ten_thousand_entities_writes_one_small_delta_and_snapshots_touch_only_dirty_shards()
    {
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?> { ["Loom:Memory:DeltasPerSnapshot"] = "3" });
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();

        // Seed storage directly before the session first loads its memory, as an import's commit would: the shard rows
        // and a header that says memory rows exist (a new session's says none were written, and its first load skips them).
        var memory = MemoryTestKit.NewMemory();
        for (var start = 0; start < Entities; start += 100)
        {
            memory.Apply(Enumerable.Range(start, 100).Select(Entity).ToList(), 0);
        }
        await memory.RefreshEmbeddingsAsync();
        var rows = app.Services.GetRequiredService<IGrainRowStore>();
        var grainId = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(sessionId).GetGrainId();
        var header = new GrainRows<SessionState>(rows, grainId, SessionRows.Header);
        await header.ReadHeaderAsync();
        Assert.True(header.State.MemoryUnwritten);
        header.State.MemoryUnwritten = false;
        var seeded = header.Begin();
        foreach (var shard in memory.AllShards()) seeded.Put($"memory.shard.{shard.Index}", shard);
        await header.CommitAsync(seeded);
        // The session was created in an activation that knows its memory is empty; load it afresh from what is stored.
        await app.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var db = Path.Combine(app.DataDirectory, "loom.db");
        var before = await RowsAsync(db, sessionId);
        var wholeMemory = before.Where(r => r.Key.StartsWith("memory.shard.", StringComparison.Ordinal)).Sum(r => r.Value.Bytes);

        // First use loads and indexes all 10,000 entities from storage.
        var clock = Stopwatch.StartNew();
        var first = await client.GetAsync($"/api/sessions/{sessionId}/memory/{Uri.EscapeDataString(Entity(1234).EntityId!)}")
            .ExpectAsync(HttpStatusCode.OK);
        var activationMs = clock.ElapsedMilliseconds;
        Assert.Equal(Entity(1234).Name, first["name"]!.GetValue<string>());

        var turn = await client.PlayAsync(sessionId, "I light a lantern and walk to the old mill.");
        var after = await RowsAsync(db, sessionId);
        var written = Changed(before, after);
        output.WriteLine($"load of {Entities} entities from SQLite on first use: {activationMs} ms (includes the HTTP round trip)");
        output.WriteLine($"whole memory: {before.Count(r => r.Key.StartsWith("memory.shard.", StringComparison.Ordinal))} shard rows, {wholeMemory / 1024.0:F0} KiB");
        Describe("turn 1", turn, written);

        // The turn appended one delta with what it changed; no shard was rewritten.
        Assert.DoesNotContain(written, r => r.Key.StartsWith("memory.shard.", StringComparison.Ordinal));
        var delta = Assert.Single(written, r => r.Key.StartsWith("memory.delta.", StringComparison.Ordinal));
        Assert.Equal("memory.delta.0", delta.Key);
        Assert.True(written.Sum(r => r.Value.Bytes) < wholeMemory / 100, "a turn must write what it changed, not the memory");

        // Deltas 0-2, then the fourth write is a snapshot: only shards those turns touched are rewritten, the manifest
        // moves past the deltas and they are emptied.
        var touched = new HashSet<int>(Touched(turn));
        for (var i = 2; i <= 4; i++)
        {
            var previous = after;
            var next = await client.PlayAsync(sessionId, $"I search the mill, room {i}.");
            after = await RowsAsync(db, sessionId);
            written = Changed(previous, after);
            Describe($"turn {i}", next, written);
            touched.UnionWith(Touched(next));
        }
        var snapshot = written.Where(r => r.Key.StartsWith("memory.shard.", StringComparison.Ordinal)).ToList();
        Assert.Equal(touched.Count, snapshot.Count);
        Assert.All(snapshot, r => Assert.Contains(int.Parse(r.Key["memory.shard.".Length..], System.Globalization.CultureInfo.InvariantCulture), touched));
        Assert.Contains("memory.manifest.0", written.Select(r => r.Key));
        Assert.All(after.Where(r => r.Key.StartsWith("memory.delta.", StringComparison.Ordinal)), r => Assert.Equal(0, r.Value.Bytes));
        // The load time is a figure (printed above), not a gate: timings belong to benchmarks, not unit tests.
    }

    private static List<KeyValuePair<string, (long Version, long Bytes)>> Changed(
        Dictionary<string, (long Version, long Bytes)> before, Dictionary<string, (long Version, long Bytes)> after) =>
        after.Where(r => !before.TryGetValue(r.Key, out var old) || old.Version != r.Value.Version).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();

    private static IEnumerable<int> Touched(System.Text.Json.Nodes.JsonNode turn) =>
        turn["memoryUpdates"]!.AsArray().Select(op => WorldMemory.ShardOf(op!["entityId"]!.GetValue<string>(), new MemoryOptions().ShardCount));

    private void Describe(string what, System.Text.Json.Nodes.JsonNode turn, List<KeyValuePair<string, (long Version, long Bytes)>> written) =>
        output.WriteLine($"{what} ({turn["memoryUpdates"]!.AsArray().Count} ops) wrote {written.Count} rows, " +
                         $"{written.Sum(r => r.Value.Bytes) / 1024.0:F1} KiB: {string.Join(", ", written.Select(r => $"{r.Key} {r.Value.Bytes / 1024.0:F1} KiB"))}");

    private static MemoryOp Entity(int i)
    {
        var type = (EntityType)(i % 7);
        var name = $"{Words[i % Words.Length]} {Words[(i / 7) % Words.Length]} {i}";
        return new MemoryOp
        {
            Op = "upsert",
            EntityId = EntityIds.For(type, name),
            Type = type,
            Name = name,
            Content = $"The {Words[(i * 3) % Words.Length]} of the {Words[(i * 5) % Words.Length]} was last seen near the " +
                      $"{Words[(i * 11) % Words.Length]} after the {Words[(i * 13) % Words.Length]}; nobody has spoken of it since.",
            Attributes = new Dictionary<string, string> { ["mood"] = Words[(i * 17) % Words.Length] },
        };
    }

    private static readonly string[] Words =
    [
        "harbor", "lantern", "storm", "ledger", "smuggler", "salt", "bell", "crypt", "tide", "compass", "debt", "letter",
        "ship", "guild", "knife", "map", "crown", "secret", "promise", "fog", "rope", "market", "chapel", "oath",
    ];

    private static async Task<Dictionary<string, (long Version, long Bytes)>> RowsAsync(string dbPath, string sessionId)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly");
        await connection.OpenAsync();
        var command = connection.CreateCommand();
        command.CommandText = "SELECT state_name, version, coalesce(length(payload), 0) FROM loom_grain_state WHERE grain_id_ext = $key";
        command.Parameters.AddWithValue("$key", sessionId);
        var rows = new Dictionary<string, (long, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        return rows;
    }
}
