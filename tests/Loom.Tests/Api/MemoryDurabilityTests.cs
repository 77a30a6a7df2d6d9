using System.Net;
using System.Net.Http.Json;
using Loom.Memory;
using Loom.Sessions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Loom.Storage;
using Loom.Tests.Storage;

namespace Loom.Tests.Api;

/// <summary>Memory across restarts and crashes, and rolling summaries, through the real API.</summary>
public sealed class MemoryDurabilityTests
{
    [Fact]
    public async Task Memory_survives_a_restart_and_changes_of_an_uncommitted_turn_are_dropped()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("loom-memory-restart-").FullName;
        string sessionId;
        List<string> before;
        await using (var first = LoomAppFactory.With(dataDirectory, null))
        {
            var client = first.Alice();
            sessionId = await client.CreateSessionAsync();
            await client.PlayAsync(sessionId, "I light a lantern and walk to the old mill.");
            await client.PutAsync($"/api/sessions/{sessionId}/memory/fact:the-mill-is-haunted", JsonContent.Create(new
            {
                type = "fact", name = "The mill is haunted", content = "A drowned miller walks the mill race at night.",
            })).ExpectAsync(HttpStatusCode.OK);
            before = (await client.GetAsync($"/api/sessions/{sessionId}/memory?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!
                .AsArray().Select(e => $"{e!["entityId"]}@{e["version"]}").ToList();

            // Simulate a crash between writing a turn's shards and its journal record: a shard row holds a change
            // of turn 2, which never committed.
            var rows = first.Services.GetRequiredService<IGrainRowStore>();
            var grainId = first.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(sessionId).GetGrainId();
            var shards = new RecordStore<MemoryShard>(rows, grainId, "memory.shard", 4);
            const string ghost = "character:the-ghost";
            var index = WorldMemory.ShardOf(ghost, new MemoryOptions().ShardCount);
            var shard = await shards.ReadAsync(index) ?? new MemoryShard { Index = index, ShardCount = new MemoryOptions().ShardCount };
            shard.Entities.Add(new StoredEntity
            {
                EntityId = ghost,
                Revisions = [new EntityRevision { Seq = 2, Value = new MemoryEntity { EntityId = ghost, Type = EntityType.Character, Name = "The ghost", FirstSeq = 2, LastSeq = 2, Version = 1 } }],
            });
            await rows.PutRowsAsync(grainId, unit => unit.Put(shards.StateName(index), shard));

            // And a delta row the same crash left behind (turn 1 and the edit wrote deltas 0 and 1).
            var deltas = new RecordStore<MemoryDelta>(rows, grainId, "memory.delta", 4);
            Assert.NotNull(await deltas.ReadAsync(1));
            const string wraith = "character:the-wraith";
            await rows.PutRowsAsync(grainId, unit => unit.Put(deltas.StateName(2), new MemoryDelta
            {
                Number = 2,
                Entities = [new StoredEntity { EntityId = wraith, Revisions = [new EntityRevision { Seq = 2, Value = new MemoryEntity { EntityId = wraith, Type = EntityType.Character, Name = "The wraith", FirstSeq = 2, LastSeq = 2, Version = 1 } }] }],
            }));
        }

        await using var second = LoomAppFactory.With(dataDirectory, null);
        var again = second.Alice();
        var after = (await again.GetAsync($"/api/sessions/{sessionId}/memory?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!
            .AsArray().Select(e => $"{e!["entityId"]}@{e["version"]}").ToList();
        Assert.Equal(before, after);
        await again.GetAsync($"/api/sessions/{sessionId}/memory/character:the-ghost").ExpectProblemAsync(HttpStatusCode.NotFound);
        await again.GetAsync($"/api/sessions/{sessionId}/memory/character:the-wraith").ExpectProblemAsync(HttpStatusCode.NotFound);

        // Vectors and indexes came back too: search finds the edited fact by meaning and by keyword.
        var hits = await again.PostJsonAsync($"/api/sessions/{sessionId}/memory/search", new { query = "drowned miller", mode = "hybrid" })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("fact:the-mill-is-haunted", hits["items"]![0]!["entity"]!["entityId"]!.GetValue<string>());

        // Play goes on: turn 2 is a real turn now, and the ghost stays gone.
        var turn = await again.PlayAsync(sessionId, "I listen at the mill door.");
        Assert.Equal(2, turn["seq"]!.GetValue<int>());
        await again.GetAsync($"/api/sessions/{sessionId}/memory/character:the-ghost").ExpectProblemAsync(HttpStatusCode.NotFound);
        await again.GetAsync($"/api/sessions/{sessionId}/memory/character:the-wraith").ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Memory_written_as_deltas_and_snapshots_comes_back_identical_after_restarts()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("loom-memory-deltas-").FullName;
        var settings = new Dictionary<string, string?> { ["Loom:Memory:DeltasPerSnapshot"] = "3", ["Loom:Memory:SummaryEveryTurns"] = "4" };
        string sessionId;
        string expected = "";
        for (var run = 0; run < 3; run++)
        {
            await using var app = LoomAppFactory.With(dataDirectory, settings);
            var client = app.Alice();
            if (run == 0)
            {
                sessionId = await client.CreateSessionAsync();
            }
            else
            {
                sessionId = (await client.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK))["items"]![0]!["sessionId"]!.GetValue<string>();
                // What the previous run saw, before this run adds anything.
                Assert.Equal(expected, await MemoryAsync(client, sessionId));
            }
            // Five turns (a snapshot lands on a different turn each run), an edit, a delete and a rollback.
            for (var i = 0; i < 5; i++) await client.PlayAsync(sessionId, $"Run {run}: I walk to the {(i % 2 == 0 ? "mill" : "harbor")} and meet Mira {i}.");
            await client.PutAsync($"/api/sessions/{sessionId}/memory/fact:run-{run}", JsonContent.Create(new
            {
                type = "fact", name = $"Run {run}", content = $"Something happened in run {run}.",
            })).ExpectAsync(HttpStatusCode.OK);
            if (run == 1) await client.DeleteAsync($"/api/sessions/{sessionId}/memory/fact:run-0");
            var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
            await client.PostJsonAsync($"/api/sessions/{sessionId}/rollback",
                new { toSeq = session["turnCount"]!.GetValue<int>() - 1, reason = "undo the last turn" }).ExpectAsync(HttpStatusCode.OK);
            expected = await MemoryAsync(client, sessionId);
        }
    }

    [Fact]
    public async Task An_edit_whose_write_fails_answers_503_and_leaves_no_trace_live_or_after_a_restart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("loom-memory-edit-fail-").FullName;
        string sessionId;
        await using (var app = LoomAppFactory.With(dataDirectory, null))
        {
            var client = app.Alice();
            sessionId = await client.CreateSessionAsync();
            await PutFactAsync(client, sessionId, "the-bridge", "The bridge stands.").ExpectAsync(HttpStatusCode.OK);

            // Storage goes away under the running session: every write fails, memory is still loaded.
            var db = Path.Combine(app.DataDirectory, "loom.db");
            await ExecuteAsync(db, "ALTER TABLE loom_grain_state RENAME TO loom_grain_state_away");
            await PutFactAsync(client, sessionId, "the-bridge", "The bridge is out.").ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
            await PutFactAsync(client, sessionId, "the-ferry", "A ferry runs at noon.").ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
            await ExecuteAsync(db, "ALTER TABLE loom_grain_state_away RENAME TO loom_grain_state");

            // Neither failed edit is visible, and the next write does not smuggle them in.
            var bridge = await client.GetAsync($"/api/sessions/{sessionId}/memory/fact:the-bridge").ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("The bridge stands.", bridge["content"]!.GetValue<string>());
            await client.GetAsync($"/api/sessions/{sessionId}/memory/fact:the-ferry").ExpectProblemAsync(HttpStatusCode.NotFound);
            await PutFactAsync(client, sessionId, "the-mill", "The mill burned.").ExpectAsync(HttpStatusCode.OK);
        }

        await using var again = LoomAppFactory.With(dataDirectory, null);
        var restarted = again.Alice();
        var stored = await restarted.GetAsync($"/api/sessions/{sessionId}/memory/fact:the-bridge").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("The bridge stands.", stored["content"]!.GetValue<string>());
        Assert.Equal(1, stored["version"]!.GetValue<int>());
        await restarted.GetAsync($"/api/sessions/{sessionId}/memory/fact:the-ferry").ExpectProblemAsync(HttpStatusCode.NotFound);
        await restarted.GetAsync($"/api/sessions/{sessionId}/memory/fact:the-mill").ExpectAsync(HttpStatusCode.OK);
    }

    private static Task<HttpResponseMessage> PutFactAsync(HttpClient client, string sessionId, string slug, string content) =>
        client.PutAsync($"/api/sessions/{sessionId}/memory/fact:{slug}", JsonContent.Create(new { type = "fact", name = slug.Replace('-', ' '), content }));

    private static async Task ExecuteAsync(string dbPath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath}");
        await connection.OpenAsync();
        var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The session's memory as the export shows it (entities with their full history).</summary>
    private static async Task<string> MemoryAsync(HttpClient client, string sessionId)
    {
        var export = await client.GetAsync($"/api/sessions/{sessionId}/export?format=json").ExpectAsync(HttpStatusCode.OK);
        return export["memory"]!.ToJsonString();
    }

    [Fact]
    public async Task Turns_leaving_the_window_are_folded_into_summaries_that_reach_the_prompt()
    {
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Memory:SummaryEveryTurns"] = "2",
            ["Loom:Memory:RecentWindowTurns"] = "1",
        });
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I cross the ford at dawn.");
        await client.PlayAsync(sessionId, "I trade my knife for a map.");
        var third = await client.PlayAsync(sessionId, "I follow the map into the hills.");

        // After turn 3, turns 1-2 have left the one-turn window: they are summarized, by turn 3.
        Assert.Contains(third["memoryUpdates"]!.AsArray(), op => op!["entityId"]!.GetValue<string>() == "summary:turns-1-2");
        var summary = await client.GetAsync($"/api/sessions/{sessionId}/memory/summary:turns-1-2").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("summary", summary["type"]!.GetValue<string>());
        Assert.Equal(3, summary["firstSeq"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(summary["content"]!.GetValue<string>()));

        var fourth = await client.PlayAsync(sessionId, "I make camp under a broken tower.");
        Assert.Contains("summary:turns-1-2", fourth["memoryUsed"]!.AsArray().Select(n => n!.GetValue<string>()));
        var fifth = await client.PlayAsync(sessionId, "I wake to the sound of hooves.");
        Assert.Contains(fifth["memoryUpdates"]!.AsArray(), op => op!["entityId"]!.GetValue<string>() == "summary:turns-3-4");
        var summaries = await client.GetAsync($"/api/sessions/{sessionId}/memory?type=summary").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, summaries["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Erasing_a_session_erases_its_memory_rows()
    {
        await using var app = LoomAppFactory.With(null, null);
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I light a lantern and walk to the old mill.");
        await client.PutAsync($"/api/sessions/{sessionId}/memory/fact:the-mill-is-haunted", JsonContent.Create(new
        {
            type = "fact", name = "The mill is haunted", content = "A drowned miller walks the mill race at night.",
        })).ExpectAsync(HttpStatusCode.OK);
        var db = Path.Combine(app.DataDirectory, "loom.db");
        Assert.True(await ShardPayloadsAsync(db, sessionId) > 0);

        var erased = await client.DeleteAsync($"/api/sessions/{sessionId}?permanent=true");
        Assert.Equal(HttpStatusCode.NoContent, erased.StatusCode);
        Assert.Equal(0, await ShardPayloadsAsync(db, sessionId));
        await client.GetAsync($"/api/sessions/{sessionId}/memory").ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    private static async Task<long> ShardPayloadsAsync(string dbPath, string sessionId)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly");
        await connection.OpenAsync();
        var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM loom_grain_state WHERE grain_id_ext = $key AND state_name LIKE 'memory.%' AND payload IS NOT NULL";
        command.Parameters.AddWithValue("$key", sessionId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
