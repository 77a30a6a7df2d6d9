using System.Diagnostics;
using System.Net;
using Loom.Tests.LoadTests;
using Xunit.Abstractions;

namespace Loom.Tests.Api;

/// <summary>
/// The note's figure: rolling back a 200-turn session, how long it takes and what it restores. It plays 200 turns
/// (about 90 s of CPU here), so it runs alone rather than starving timing-sensitive tests running beside it.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class RollbackFigureTests(TimelineAppFactory app, ITestOutputHelper output) : IClassFixture<TimelineAppFactory>
{
    [Fact]
    public async Task Rolling_back_a_200_turn_session_restores_memory_as_it_was()
    {
        const int turns = 200, k = 100;
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        string? memoryAtK = null, tonesAtK = null;
        var play = Stopwatch.StartNew();
        for (var seq = 1; seq <= turns; seq++)
        {
            var tone = seq % 40 == 0 ? $" [TONE: tone {seq}]" : "";
            var edit = seq % 25 == 0 ? $" [EDIT: fact: the {seq}th bell rang]" : "";
            await client.PlayAsync(id, $"I walk to place {seq % 17} and ask about the Cinder and the bell number {seq}.{tone}{edit}");
            if (seq == k)
            {
                var atK = await client.ExportAsync(id);
                memoryAtK = atK["memory"]!.ToJsonString();
                tonesAtK = atK["timeline"]!["tones"]!.ToJsonString();
            }
        }
        play.Stop();
        var before = await client.ExportAsync(id);
        var entitiesBefore = before["memory"]!.AsArray().Count;
        var summariesBefore = before["memory"]!.AsArray().Count(e => e!["current"]?["type"]?.Str() == "summary");

        var clock = Stopwatch.StartNew();
        var session = await client.RollbackAsync(id, k, "figure for the note").ExpectAsync(HttpStatusCode.OK);
        clock.Stop();

        var after = await client.ExportAsync(id);
        Assert.Equal(memoryAtK, after["memory"]!.ToJsonString());
        Assert.Equal(tonesAtK, after["timeline"]!["tones"]!.ToJsonString());
        Assert.Equal(k, session["turnCount"]!.GetValue<int>());
        Assert.Equal("tone 80", session["tone"].Str());
        var entitiesAfter = after["memory"]!.AsArray().Count;
        var summariesAfter = after["memory"]!.AsArray().Count(e => e!["current"]?["type"]?.Str() == "summary");
        var next = await client.PlayAsync(id, "I listen for the bell.");
        Assert.Equal(k + 1, next["seq"]!.GetValue<int>());

        output.WriteLine($"played {turns} turns in {play.Elapsed.TotalSeconds:F1} s; rollback {turns}->{k}: {clock.Elapsed.TotalMilliseconds:F0} ms (HTTP round trip)");
        output.WriteLine($"entities with history {entitiesBefore} -> {entitiesAfter}; summaries {summariesBefore} -> {summariesAfter}; " +
                         $"retconned turns {turns - k}; tone 'tone 200' -> '{session["tone"].Str()}'");
        // The rollback time is a figure (printed above), not a gate: timings belong to benchmarks, not unit tests.
    }
}
