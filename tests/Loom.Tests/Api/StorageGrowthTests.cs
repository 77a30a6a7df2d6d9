using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Loom.Tests.Api;

/// <summary>The cost of persisting a turn must not grow with the length of the story.</summary>
public sealed class StorageGrowthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_session_header_stays_the_same_size_as_the_story_grows()
    {
        await using var app = LoomAppFactory.With(null, null);
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var db = Path.Combine(app.DataDirectory, "loom.db");

        var headerSizes = new Dictionary<int, long>();
        var turnSizes = new Dictionary<int, long>();
        for (var i = 1; i <= 40; i++)
        {
            await client.PlayAsync(sessionId, $"I walk on, step {i:D3}, and look around.");
            if (i is 5 or 40)
            {
                headerSizes[i] = await PayloadBytesAsync(db, "session", sessionId);
                turnSizes[i] = await PayloadBytesAsync(db, $"session.turn.{i - 1}", sessionId);
            }
        }
        output.WriteLine($"header bytes after turn 5: {headerSizes[5]}, after turn 40: {headerSizes[40]}");
        output.WriteLine($"turn record bytes, turn 5: {turnSizes[5]}, turn 40: {turnSizes[40]}");

        Assert.True(headerSizes[5] > 0 && turnSizes[5] > 0);
        // Only counters and timestamps change in the header: a few bytes of varint growth at most.
        Assert.InRange(headerSizes[40], headerSizes[5] - 16, headerSizes[5] + 16);
        // A turn record holds that turn only (narratives differ in length, not by an order of magnitude).
        Assert.True(turnSizes[40] < turnSizes[5] * 3, "turn 40's record should not contain earlier turns");
    }

    private static async Task<long> PayloadBytesAsync(string dbPath, string stateName, string key)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly");
        await connection.OpenAsync();
        var command = connection.CreateCommand();
        command.CommandText = "SELECT length(payload) FROM loom_grain_state WHERE state_name = $name AND grain_id_ext = $key";
        command.Parameters.AddWithValue("$name", stateName);
        command.Parameters.AddWithValue("$key", key);
        var result = await command.ExecuteScalarAsync();
        return result is long n ? n : 0;
    }
}
