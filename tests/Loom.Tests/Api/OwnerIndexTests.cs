using System.Net;
using Loom.Sessions;
using Loom.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Loom.Tests.Api;

/// <summary>
/// An owner's index entries are rows written with their sessions: a create waits for nothing owner-wide, the owner
/// lists the session at once, a crash right after the create loses no entry, an erase takes its entry with it, and an
/// index kept by an older build (one list in the owner's row) is moved into entry rows.
/// </summary>
public sealed class OwnerIndexTests
{
    [Fact]
    public async Task A_new_session_is_listed_at_once_and_its_entry_row_is_durable_when_the_create_answers()
    {
        await using var app = LoomAppFactory.With(null, null);
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();

        var rows = app.Services.GetRequiredService<IGrainRowStore>();
        var owner = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IOwnerGrain>("alice").GetGrainId();
        var entry = Assert.Single(await rows.ListAsync(owner, OwnerIndexRows.RowPrefix));
        Assert.Equal(OwnerIndexRows.RowName(sessionId), entry.Name);
        Assert.Equal(sessionId, rows.Deserialize<OwnedSession>(entry.Payload!).SessionId);

        var listed = (await client.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Contains(listed, s => s!["sessionId"]!.GetValue<string>() == sessionId);

        // A fork and an import create sessions through the seed path: their entries are committed with them too.
        await client.PlayAsync(sessionId, "I look around.");
        var fork = (await client.ForkAsync(sessionId, 1).ExpectAsync(HttpStatusCode.Created))["sessionId"]!.GetValue<string>();
        var export = await client.ExportAsync(sessionId);
        var imported = (await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created))["sessionId"]!.GetValue<string>();
        var names = (await rows.ListAsync(owner, OwnerIndexRows.RowPrefix)).Select(r => r.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { sessionId, fork, imported }.Select(OwnerIndexRows.RowName).Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public async Task A_session_created_just_before_a_crash_is_listed_after_the_restart_and_an_erased_one_leaves_no_entry()
    {
        string kept, copy;
        await using (var app = LoomAppFactory.With(null, null))
        {
            var client = app.Alice();
            var erased = await client.CreateSessionAsync();
            await client.DeleteAsync($"/api/sessions/{erased}?permanent=true").ExpectAsync(HttpStatusCode.NoContent);
            kept = await client.CreateSessionAsync();
            // The disk as a crash right now would leave it: a consistent snapshot of what is committed, taken through
            // SQLite's backup.
            copy = Directory.CreateTempSubdirectory("loom-crash-").FullName;
            await using var source = new SqliteConnection($"Data Source={Path.Combine(app.DataDirectory, "loom.db")};Pooling=false");
            await using var target = new SqliteConnection($"Data Source={Path.Combine(copy, "loom.db")};Pooling=false");
            await source.OpenAsync();
            await target.OpenAsync();
            source.BackupDatabase(target);
        }

        await using (var image = new SqliteConnection($"Data Source={Path.Combine(copy, "loom.db")};Pooling=false"))
        {
            await image.OpenAsync();
            await using var query = image.CreateCommand();
            query.CommandText = "SELECT state_name FROM loom_grain_state WHERE state_name LIKE 'index.session.%' AND payload IS NOT NULL";
            var entries = new List<string>();
            await using (var reader = await query.ExecuteReaderAsync())
                while (await reader.ReadAsync()) entries.Add(reader.GetString(0));
            Assert.Equal([OwnerIndexRows.RowName(kept)], entries); // the erase deleted its entry with the session
        }

        await using var restarted = LoomAppFactory.With(copy, null);
        Assert.Equal([kept], await ListedAsync(restarted.Alice()));
    }

    [Fact]
    public async Task An_index_an_older_build_kept_in_the_owners_row_is_moved_into_entry_rows()
    {
        await using var app = LoomAppFactory.With(null, null);
        var sessionId = await app.Alice().CreateSessionAsync();
        var rows = app.Services.GetRequiredService<IGrainRowStore>();
        var storage = app.Services.GetRequiredKeyedService<IGrainStorage>("loom");
        // Bob's index as an older build left it: his session's entry in his owner row, no entry row.
        var bob = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IOwnerGrain>("bob").GetGrainId();
        var bobsSession = await app.Bob().CreateSessionAsync();
        await rows.CommitAsync(new RowCommit { Grain = bob, Rows = [new RowWrite(bob, OwnerIndexRows.RowName(bobsSession), null)] });
        var legacy = new GrainState<OwnerState>();
        await storage.ReadStateAsync("owner", bob, legacy);
        (legacy.State ??= new OwnerState()).Sessions = [new OwnedSession { SessionId = bobsSession, CreatedAt = DateTime.UtcNow }];
        await storage.WriteStateAsync("owner", bob, legacy);
        // Bob's owner grain is active with the entry in memory: a second app on the same file reads it afresh.
        await app.DisposeAsync();

        await using var next = LoomAppFactory.With(app.DataDirectory, null);
        Assert.Equal([bobsSession], await ListedAsync(next.Bob()));
        Assert.Equal([OwnerIndexRows.RowName(bobsSession)], await EntryRowsAsync(next, "bob"));
        var after = new GrainState<OwnerState>();
        await next.Services.GetRequiredKeyedService<IGrainStorage>("loom").ReadStateAsync("owner", bob, after);
        Assert.Empty(after.State!.Sessions);
        Assert.Equal([sessionId], await ListedAsync(next.Alice()));
    }

    [Fact]
    public async Task A_create_of_an_older_build_gets_its_entry_row_from_the_owner()
    {
        await using var app = LoomAppFactory.With(null, null);
        var sessionId = await app.Alice().CreateSessionAsync();
        var owner = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IOwnerGrain>("alice");
        // What an older build's session sends after its create: the entry, without having written its row.
        var older = new OwnedSession { SessionId = "s-older-build", CreatedAt = DateTime.UtcNow };
        await owner.Add(older);

        var stored = await EntryRowsAsync(app, "alice");
        Assert.Contains(OwnerIndexRows.RowName(older.SessionId), stored);
        Assert.Contains(OwnerIndexRows.RowName(sessionId), stored);
        Assert.Contains(await owner.List(), e => e.SessionId == older.SessionId);
    }

    /// <summary>The names of the owner's index entry rows, as stored.</summary>
    private static async Task<List<string>> EntryRowsAsync(LoomAppFactory app, string ownerId)
    {
        var owner = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IOwnerGrain>(ownerId).GetGrainId();
        return [.. (await app.Services.GetRequiredService<IGrainRowStore>().ListAsync(owner, OwnerIndexRows.RowPrefix)).Select(r => r.Name)];
    }

    private static async Task<List<string>> ListedAsync(HttpClient client) =>
        [.. (await client.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Select(s => s!["sessionId"]!.GetValue<string>())];
}
