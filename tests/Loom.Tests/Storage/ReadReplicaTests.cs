using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Loom.Storage;
using Loom.Tests.Api;
using Loom.Tests.Fixtures;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Loom.Tests.Storage;

/// <summary>
/// Issue 16's read/write split on a real streaming replica (pg_basebackup + hot standby from the machine's PostgreSQL):
/// an owner's list and an idle session's export read the replica without waking the session (they answer while the
/// primary is down), and a row the replica has not replayed yet is read through the session's grain, so the list never
/// shows less than the owner last wrote.
/// </summary>
public sealed class ReadReplicaTests : IAsyncLifetime
{
    private readonly PostgresServer _primary = new();
    private PostgresServer _replica = null!;

    public async Task InitializeAsync()
    {
        await _primary.InitializeAsync();
        _replica = new PostgresServer { Primary = _primary };
        await _replica.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_replica is not null) await _replica.DisposeAsync();
        await _primary.DisposeAsync();
    }

    [Fact]
    public async Task A_list_reads_idle_sessions_from_the_replica_and_rows_it_lags_on_from_their_grains()
    {
        await using var app = await StartAsync();
        var alice = app.Alice();
        var management = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);

        var sessions = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = await alice.CreateSessionAsync();
            await alice.PlayAsync(id, $"I open door {i}.");
            sessions.Add(id);
        }
        await RenameAsync(alice, sessions[0], "Before the flood");
        var exportedLive = await ExportAsync(alice, sessions[1]); // by the live session
        var chatLive = await ChatExportAsync(alice, sessions[1]);
        await IdleAsync(management);
        await _replica.WaitForReplayAsync(TimeSpan.FromSeconds(30));

        // Idle sessions come from the replica: listed with what they stored, and none of them woken up.
        var listed = await ListAsync(alice);
        Assert.Equal(sessions.Order(), listed.Keys.Order());
        Assert.Equal("Before the flood", listed[sessions[0]]["name"]!.GetValue<string>());
        Assert.All(listed.Values, s => Assert.Equal(1, s["turnCount"]!.GetValue<int>()));
        Assert.Equal(0, await SessionActivationsAsync(management));
        // An idle session's export too: the same document the live session gave, read in one replica transaction;
        // in SillyTavern's format as well.
        Assert.Equal(exportedLive, await ExportAsync(alice, sessions[1]));
        Assert.Equal(chatLive, await ChatExportAsync(alice, sessions[1]));
        Assert.Equal(0, await SessionActivationsAsync(management));

        // The primary down: the list still answers from the replica (a read through the grains would need the primary).
        await _primary.StopServerAsync();
        try
        {
            Assert.Equal(3, (await ListAsync(alice)).Count);
            Assert.Equal(exportedLive, await ExportAsync(alice, sessions[1]));
            Assert.Equal(0, await SessionActivationsAsync(management));
        }
        finally
        {
            await _primary.StartServerAsync();
        }

        // The replica falls behind; the owner renames a session and it goes idle again. Its row on the replica is older
        // than the one it left, so the list reads that session through its grain: the new name, never the old one.
        await _replica.PauseReplayAsync();
        await RenameAsync(alice, sessions[0], "After the flood");
        await IdleAsync(management);
        listed = await ListAsync(alice);
        Assert.Equal("After the flood", listed[sessions[0]]["name"]!.GetValue<string>());
        Assert.Equal(1, await SessionActivationsAsync(management)); // that one only; the others still from the replica

        // Caught up, the replica serves all three again.
        await _replica.ResumeReplayAsync();
        await IdleAsync(management);
        await _replica.WaitForReplayAsync(TimeSpan.FromSeconds(30));
        listed = await ListAsync(alice);
        Assert.Equal("After the flood", listed[sessions[0]]["name"]!.GetValue<string>());
        Assert.Equal(0, await SessionActivationsAsync(management));
    }

    [Fact]
    public async Task Admin_support_reads_of_idle_sessions_come_from_the_replica_and_join_each_sessions_audit_log()
    {
        await using var app = await StartAsync();
        var alice = app.Alice();
        var admin = app.Admin();
        var management = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var sessions = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var id = await alice.CreateSessionAsync();
            await alice.PlayAsync(id, $"I light lamp {i}.");
            sessions.Add(id);
        }
        await IdleAsync(management);
        await _replica.WaitForReplayAsync(TimeSpan.FromSeconds(30));

        // By owner and by id: the metadata, from the replica, with no session woken up.
        var page = await admin.GetAsync("/api/admin/sessions?owner=alice&reason=ticket%207").ExpectAsync(HttpStatusCode.OK);
        var items = page["items"]!.AsArray().Select(i => i!).ToList();
        Assert.Equal(sessions.Order(), items.Select(i => i["session"]!["sessionId"]!.GetValue<string>()).Order());
        Assert.All(items, i => Assert.Equal("alice", i["ownerId"]!.GetValue<string>()));
        Assert.All(items, i => Assert.Equal(1, i["session"]!["turnCount"]!.GetValue<int>()));
        var one = await admin.GetAsync($"/api/admin/sessions/{sessions[0]}?reason=follow-up").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(sessions[0], one["session"]!["sessionId"]!.GetValue<string>());
        Assert.Equal(0, await SessionActivationsAsync(management));
        // Not silent while the session sleeps either: its export from the replica already lists both reads.
        var exported = await alice.GetAsync($"/api/sessions/{sessions[0]}/export").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["ticket 7", "follow-up"], AdminReads(exported["audit"]!.AsArray()));
        Assert.Equal(0, await SessionActivationsAsync(management));

        // The audit goes to the primary before anything is disclosed: with the primary down the replica could answer,
        // but the read is refused.
        await _primary.StopServerAsync();
        try
        {
            using var refused = await admin.GetAsync($"/api/admin/sessions/{sessions[1]}?reason=during%20outage");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("storage_unavailable", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
            Assert.Equal(0, await SessionActivationsAsync(management));
        }
        finally
        {
            await _primary.StartServerAsync();
        }

        // The owner sees every read in the session's own log, in order, once: the session takes them in as it wakes.
        Assert.Equal(["ticket 7", "follow-up"], AdminReads(await AuditAsync(alice, sessions[0])));
        Assert.Equal(["ticket 7"], AdminReads(await AuditAsync(alice, sessions[1])));
        await IdleAsync(management);
        await _replica.WaitForReplayAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["ticket 7", "follow-up"], AdminReads(await AuditAsync(alice, sessions[0])));
        exported = await alice.GetAsync($"/api/sessions/{sessions[0]}/export").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["ticket 7", "follow-up"], AdminReads(exported["audit"]!.AsArray()));
    }

    private static List<string> AdminReads(IEnumerable<JsonNode?> audit) =>
        [.. audit.Where(a => a!["action"]!.GetValue<string>() == "admin.read" && a["actor"]!.GetValue<string>() == "ops")
            .Select(a => a!["reason"]!.GetValue<string>())];

    /// <summary>The session's audit log as its owner reads it; a 503 (the first call after the primary restarted
    /// meets a dropped connection) is tried again.</summary>
    private static async Task<List<JsonNode?>> AuditAsync(HttpClient client, string sessionId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync($"/api/sessions/{sessionId}/audit?limit=200");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return [.. (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray()];
            }
            await Task.Delay(200);
        }
    }

    /// <summary>A test host on the primary (schema migrated) with the standby as its read replica.</summary>
    private async Task<LoomAppFactory> StartAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Storage:Provider"] = "postgres",
            ["Loom:Storage:ConnectionString"] = _primary.ConnectionString,
            ["Loom:Storage:ReadConnectionString"] = _replica.ConnectionString,
            ["Loom:Storage:MaxPoolSize"] = "10",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Assert.Equal(0, await MigrateCommand.RunAsync(configuration, TextWriter.Null, TextWriter.Null, CancellationToken.None));
        return LoomAppFactory.With(null, settings);
    }

    /// <summary>Renames as a client should: a 503 (the first write after the primary restarted meets a dropped
    /// connection) is tried again.</summary>
    private static async Task RenameAsync(HttpClient client, string sessionId, string name)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var response = await client.PatchAsJsonAsync($"/api/sessions/{sessionId}", new { name });
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                await Task.FromResult(response).ExpectAsync(HttpStatusCode.OK);
                return;
            }
            await Task.Delay(200);
        }
    }

    private static async Task<string> ChatExportAsync(HttpClient client, string sessionId)
    {
        using var response = await client.GetAsync($"/api/sessions/{sessionId}/export?format=st-jsonl");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<string> ExportAsync(HttpClient client, string sessionId) =>
        (await client.GetAsync($"/api/sessions/{sessionId}/export").ExpectAsync(HttpStatusCode.OK)).ToJsonString();

    private static async Task<Dictionary<string, JsonNode>> ListAsync(HttpClient client)
    {
        var page = await client.GetAsync("/api/sessions?limit=50").ExpectAsync(HttpStatusCode.OK);
        return page["items"]!.AsArray().ToDictionary(s => s!["sessionId"]!.GetValue<string>(), s => s!);
    }

    /// <summary>Every activation collected (sessions report their header version to the owner as they go).</summary>
    private static async Task IdleAsync(IManagementGrain management)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do
        {
            await management.ForceActivationCollection(TimeSpan.Zero);
            if (await SessionActivationsAsync(management) == 0) return;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        throw new TimeoutException("Session activations were not collected within 30 s.");
    }

    private static async Task<int> SessionActivationsAsync(IManagementGrain management) =>
        (await management.GetSimpleGrainStatistics()).Where(s => s.GrainType.Contains("SessionGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
}
