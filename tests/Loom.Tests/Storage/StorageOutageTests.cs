using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Loom.Errors;
using Loom.Gateway.Http;
using Loom.Storage;
using Loom.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Loom.Tests.Api;
using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;

namespace Loom.Tests.Storage;

/// <summary>
/// Issue 16 in one process: the row store is switched off as a PostgreSQL outage would (Npgsql's "failed to connect").
/// A live session keeps answering reads from memory, a submit answers 503 <c>storage_unavailable</c> and keeps nothing,
/// the turn in flight commits once storage is back, and the refused key then makes exactly one turn.
/// </summary>
public sealed class StorageOutageTests
{
    [Fact]
    public async Task A_live_session_reads_from_memory_refuses_submits_with_storage_unavailable_and_resumes()
    {
        await using var app = OutageApp();
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I cross the ford at dawn.");
        // The next turn is in flight when storage goes: its narration finishes, its commit waits for storage.
        var inFlight = (await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I climb the tower." }, "k-2")
            .ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        app.Control.Down = true;

        foreach (var path in (string[])[$"/api/sessions/{sessionId}", $"/api/sessions/{sessionId}/turns", $"/api/sessions/{sessionId}/memory",
                     $"/api/sessions/{sessionId}/turns/{inFlight}"])
        {
            await client.GetAsync(path).ExpectAsync(HttpStatusCode.OK);
        }
        var pending = (await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK))["pendingTurns"]!.GetValue<int>();
        var refused = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I ring the bell." }, "k-3")
            .ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(Problems.StorageUnavailableCode, refused["code"]!.GetValue<string>());
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(pending, session["pendingTurns"]!.GetValue<int>()); // the refused turn left nothing behind
        var retryAfter = (await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I ring the bell." }, "k-3")).Headers.RetryAfter;
        Assert.NotNull(retryAfter);

        app.Control.Down = false;
        await client.PollAsync($"/api/sessions/{sessionId}/turns/{inFlight}", t => t["status"]!.GetValue<string>() == "completed");
        var third = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true&timeout=60", new { input = "I ring the bell." }, "k-3")
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, third["seq"]!.GetValue<int>());
        var turns = (await client.GetAsync($"/api/sessions/{sessionId}/turns?includeRetconned=true").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal([1, 2, 3], turns.Select(t => t!["seq"]!.GetValue<int>()));
        Assert.All(turns, t => Assert.Equal("completed", t!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_turn_is_narrated_while_its_accept_is_written_and_committed_once_it_lands()
    {
        await using var app = OutageApp();
        var (_, held, submit) = await SubmitWhileTheAcceptIsHeldAsync(app, "?wait=true&timeout=60");
        Assert.False(submit.IsCompleted);

        held.SetResult();
        var turn = await submit.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("completed", 2), (turn["status"]!.GetValue<string>(), turn["seq"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_turn_whose_accept_fails_is_withdrawn_and_the_same_key_plays_it_later()
    {
        await using var app = OutageApp();
        var client = app.Alice();
        var (sessionId, held, submit) = await SubmitWhileTheAcceptIsHeldAsync(app, "");
        held.SetException(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)));
        var refused = await submit.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(Problems.StorageUnavailableCode, refused["code"]!.GetValue<string>());

        // Nothing of the withdrawn turn is left: not in the queue, not in the story, not in memory's history.
        await client.PollAsync($"/api/sessions/{sessionId}", s => s["pendingTurns"]!.GetValue<int>() == 0);
        var turns = (await client.GetAsync($"/api/sessions/{sessionId}/turns?includeRetconned=true").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal([1], turns.Select(t => t!["seq"]!.GetValue<int>()));

        var again = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true&timeout=60", new { input = "I climb the tower." }, "k-2")
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("completed", 2), (again["status"]!.GetValue<string>(), again["seq"]!.GetValue<int>()));
        turns = (await client.GetAsync($"/api/sessions/{sessionId}/turns?includeRetconned=true").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal([1, 2], turns.Select(t => t!["seq"]!.GetValue<int>()));
    }

    /// <summary>
    /// A turn narrated (memory applied) while its accept was written, then withdrawn because the database went away:
    /// the activation takes its memory changes back in place, so memory stays readable without the database.
    /// </summary>
    [Fact]
    public async Task A_turn_narrated_before_its_accept_fails_is_forgotten_without_the_database()
    {
        await using var app = OutageApp();
        var client = app.Alice();
        using var remembered = new StageCounter(app.Services.GetRequiredService<IMeterFactory>(), TurnStages.MemoryApply);
        var (sessionId, held, submit) = await SubmitWhileTheAcceptIsHeldAsync(app, "");
        // Turn 1 and k-2 have applied their memory: the pump now waits for k-2's accept before committing it.
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (remembered.Count < 2) await Task.Delay(20, deadline.Token);
        }

        app.Control.Down = true;
        held.SetException(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)));
        await submit.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        await client.PollAsync($"/api/sessions/{sessionId}", s => s["pendingTurns"]!.GetValue<int>() == 0);
        var memory = (await client.GetAsync($"/api/sessions/{sessionId}/memory?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.NotEmpty(memory);
        Assert.All(memory, e => Assert.Equal(1, e!["lastSeq"]!.GetValue<int>()));

        app.Control.Down = false;
        var again = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true&timeout=60", new { input = "I climb the tower." }, "k-2")
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("completed", 2), (again["status"]!.GetValue<string>(), again["seq"]!.GetValue<int>()));
    }

    /// <summary>Counts one turn stage's measurements from one app's meters (other tests' apps run alongside).</summary>
    private sealed class StageCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _count;

        public StageCounter(IMeterFactory scope, string stage)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Name == "loom_turn_stage_duration") listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "stage" && Equals(tag.Value, stage)) Interlocked.Increment(ref _count);
                }
            });
            _listener.Start();
        }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>
    /// Plays a first turn, then submits "I climb the tower." (key k-2) while sessions' commits are held, and returns once
    /// the narrator is at work on it: its accept is still being written.
    /// </summary>
    private static async Task<(string SessionId, TaskCompletionSource Held, Task<HttpResponseMessage> Submit)> SubmitWhileTheAcceptIsHeldAsync(
        RowStoreApp<OutageSwitch> app, string query)
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I cross the ford at dawn.");
        var held = app.Control.Hold();
        var submit = client.PostJsonAsync($"/api/sessions/{sessionId}/turns{query}", new { input = "I climb the tower." }, "k-2");
        await client.PollAsync($"/api/sessions/{sessionId}/turns", page => page["items"]!.AsArray().Any(t => t!["status"]!.GetValue<string>() == "running"));
        return (sessionId, held, submit);
    }

    [Fact]
    public void Outages_are_told_by_their_real_cause_and_a_stale_version_never_is_one()
    {
        var refused = new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));
        Assert.True(StorageFaults.IsOutage(refused));
        // How Orleans' storage bridge hands a provider error to the grain.
        Assert.True(StorageFaults.IsOutage(new OrleansException("Error from storage provider during WriteState", refused)));
        Assert.True(StorageFaults.IsOutage(new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01")));
        Assert.True(StorageFaults.IsOutage(new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03")));
        Assert.False(StorageFaults.IsOutage(new PostgresException("duplicate key value", "ERROR", "ERROR", "23505")));
        // A grain whose state could not be read at activation: the silo named the cause, Orleans wrapped it.
        Assert.True(StorageFaults.IsOutage(new OrleansException("Error from storage provider during ReadStateAsync", Problems.StorageUnavailable())));
        Assert.False(StorageFaults.IsOutage(new InconsistentStateException("version conflict", "1", "2")));
        Assert.False(StorageFaults.IsOutage(new InvalidOperationException("a bug")));
        // The embedded file: unusable (a table gone, an I/O error) is an outage, a constraint is a fault to fix.
        Assert.True(StorageFaults.IsOutage(new Microsoft.Data.Sqlite.SqliteException("no such table: loom_grain_state", 1)));
        Assert.True(StorageFaults.IsOutage(new Microsoft.Data.Sqlite.SqliteException("disk I/O error", 10)));
        Assert.False(StorageFaults.IsOutage(new Microsoft.Data.Sqlite.SqliteException("UNIQUE constraint failed", 19)));
    }

    [Fact]
    public void The_gateway_answers_storage_unavailable_apart_from_cluster_unavailable()
    {
        var (storage, storageRetry) = ProblemMapping.Map(Problems.StorageUnavailable());
        Assert.Equal((503, "storage_unavailable"), (storage.Status, storage.Extensions["code"] as string));
        Assert.NotNull(storageRetry);
        var (cluster, _) = ProblemMapping.Map(new SiloUnavailableException());
        Assert.Equal((503, "cluster_unavailable"), (cluster.Status, cluster.Extensions["code"] as string));
    }

    /// <summary>The row store behind every session, switchable to "PostgreSQL is not reachable".</summary>
    private sealed class OutageSwitch
    {
        public volatile bool Down;

        /// <summary>While set, sessions' commits wait on it: completed lets them through, failed fails them (then it clears).</summary>
        public volatile TaskCompletionSource? Held;

        public TaskCompletionSource Hold() => Held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class SwitchableRowStore(IGrainRowStore inner, OutageSwitch outage) : IGrainRowStore
    {
        public async Task<StoredRow?> ReadAsync(GrainId grain, string name) { ThrowIfDown(); return await inner.ReadAsync(grain, name); }
        public async Task<IReadOnlyList<StoredRow>> ReadManyAsync(GrainId grain, IReadOnlyList<string> names) { ThrowIfDown(); return await inner.ReadManyAsync(grain, names); }
        public async Task<IReadOnlyList<StoredRow>> ListAsync(GrainId grain, string prefix) { ThrowIfDown(); return await inner.ListAsync(grain, prefix); }
        public async Task<int> CommitAsync(RowCommit commit)
        {
            // Only sessions' header writes (an accept, a commit) are held: owner usage and the rest go on.
            if (outage.Held is { } held && commit.HeaderName == "session")
            {
                try { await held.Task; }
                finally { outage.Held = null; }
            }
            ThrowIfDown();
            return await inner.CommitAsync(commit);
        }
        public byte[] Serialize<T>(T value) => inner.Serialize(value);
        public T Deserialize<T>(byte[] payload) => inner.Deserialize<T>(payload);

        private void ThrowIfDown()
        {
            if (outage.Down) throw new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));
        }
    }

    private static RowStoreApp<OutageSwitch> OutageApp() =>
        new((inner, outage) => new SwitchableRowStore(inner, outage), new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "20" });
}
