using System.Net;
using System.Text.Json.Nodes;
using Loom.Sessions;
using Loom.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Xunit.Abstractions;

namespace Loom.Tests.Security;

/// <summary>
/// Bounded work per request: an export edited to claim more than it holds is refused (422) before anything is
/// stored, and a session whose header claims more than its journal holds (imported before the check) still reads,
/// exports and deletes at the cost of what it holds. Deadlines are generous: they catch walks of two million
/// journal slots (tens of seconds), not milliseconds.
/// </summary>
public sealed class HostileImportTests(LoomAppFactory app, ITestOutputHelper output) : IClassFixture<LoomAppFactory>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static JsonNode Edit(JsonNode export, Action<JsonNode> edit)
    {
        var copy = export.DeepClone();
        edit(copy);
        return copy;
    }

    [Fact]
    public async Task Imports_with_lying_counters_or_oversized_content_are_422_fast_while_the_owners_other_sessions_answer()
    {
        var alice = app.Alice();
        var played = await alice.CreateSessionAsync();
        await alice.PlayAsync(played, "I light a lantern and walk to the old mill.");
        await alice.PlayAsync(played, "I ask the miller about the Cinder.");
        var export = await alice.ExportAsync(played);
        var before = await alice.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);

        var hostile = new List<(string Name, JsonNode Body, string Code)>
        {
            ("nextOrdinal 2,000,000", Edit(export, e => e["timeline"]!["nextOrdinal"] = 2_000_000), "import_inconsistent"),
            ("lastSeq 2,000,000", Edit(export, e => e["timeline"]!["lastSeq"] = 2_000_000), "import_inconsistent"),
            ("memoryFloorSeq past the last turn", Edit(export, e => e["timeline"]!["memoryFloorSeq"] = 2_000_000), "import_inconsistent"),
            ("a segment per claimed rollback that never happened", Edit(export, e =>
            {
                var segments = e["timeline"]!["segments"]!.AsArray();
                for (var i = 0; i < 5_000; i++) segments.Add(new JsonObject { ["startSeq"] = 1, ["startOrdinal"] = 0 });
            }), "import_inconsistent"),
            ("a tone after the last turn", Edit(export, e => e["timeline"]!["tones"]!.AsArray().Add(new JsonObject { ["seq"] = 2_000_000, ["tone"] = "x" })), "import_inconsistent"),
            ("a turn seq beyond its journal position", Edit(export, e => e["turns"]![0]!["seq"] = 2_000_000), "import_inconsistent"),
            ("an input longer than a turn takes", Edit(export, e => e["turns"]![0]!["input"] = new string('x', 100_000)), "import_too_large"),
            ("a narrative no model writes", Edit(export, e => e["turns"]![0]!["narrative"] = new string('x', 300_000)), "import_too_large"),
        };
        if (export["memory"]!.AsArray().Count > 0)
            hostile.Add(("a memory revision after the last turn", Edit(export, e => e["memory"]![0]!["history"]![0]!["seq"] = 2_000_000), "import_inconsistent"));

        foreach (var (name, body, code) in hostile)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var import = alice.PostJsonAsync("/api/sessions/import", body).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
            // The owner's other sessions answer meanwhile.
            var list = alice.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);
            var turns = alice.GetAsync($"/api/sessions/{played}/turns?includeRetconned=true").ExpectAsync(HttpStatusCode.OK);
            await Task.WhenAll(import, list, turns).WaitAsync(Deadline);
            output.WriteLine($"{name}: 422 {(await import)["code"]} in {clock.ElapsedMilliseconds} ms (with the owner's list and a turn page alongside)");
            Assert.True((await import)["code"]!.GetValue<string>() == code, $"{name}: {(await import).ToJsonString()}");
            Assert.Equal(2, (await turns)["items"]!.AsArray().Count);
        }

        // Nothing half-written: the owner has exactly the sessions it had, and the real export still imports.
        var after = await alice.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(before["items"]!.ToJsonString(), after["items"]!.ToJsonString());
        await alice.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_session_whose_header_claims_two_million_turns_reads_exports_and_deletes_at_the_cost_of_what_it_holds()
    {
        // What an unchecked import stored: a header claiming 2,000,000 journal positions and no turn records.
        var alice = app.Alice();
        var canon = await alice.GetAsync("/api/worlds/ember-vale/canon").ExpectAsync(HttpStatusCode.OK);
        var sessionId = "s" + Guid.NewGuid().ToString("N")[..20];
        var storage = app.Services.GetRequiredKeyedService<IGrainStorage>("loom");
        var grainId = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(sessionId).GetGrainId();
        await storage.WriteStateAsync("session", grainId, new GrainState<SessionState>
        {
            State = new SessionState
            {
                Exists = true,
                OwnerId = "alice",
                Name = "hostile",
                WorldId = "ember-vale",
                CanonVersion = canon["version"]!.GetValue<int>(),
                CanonHash = canon["hash"]!.GetValue<string>(),
                Status = SessionStatus.Active,
                CreatedAt = DateTime.UtcNow,
                UpdatedAt = DateTime.UtcNow,
                NextOrdinal = 2_000_000,
                Segments = [new TimelineSegment { StartSeq = 1, StartOrdinal = 0 }],
            },
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var page = await alice.GetAsync($"/api/sessions/{sessionId}/turns?includeRetconned=true&limit=200")
            .ExpectAsync(HttpStatusCode.OK).WaitAsync(Deadline);
        output.WriteLine($"turn page with retconned turns: {clock.ElapsedMilliseconds} ms");
        Assert.Empty(page["items"]!.AsArray());
        Assert.Null(page["next"]);
        clock.Restart();
        var exported = await alice.ExportAsync(sessionId).WaitAsync(Deadline);
        output.WriteLine($"export: {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, exported["timeline"]!["nextOrdinal"]!.GetValue<long>());
        Assert.Empty(exported["turns"]!.AsArray());
        clock.Restart();
        await alice.DeleteAsync($"/api/sessions/{sessionId}?permanent=true").ExpectAsync(HttpStatusCode.NoContent).WaitAsync(Deadline);
        output.WriteLine($"permanent delete: {clock.ElapsedMilliseconds} ms");
        await alice.GetAsync($"/api/sessions/{sessionId}").ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_imported_entity_claiming_a_last_change_far_ahead_of_its_revision_does_not_stall_the_sessions_turns()
    {
        var alice = app.Alice();
        var played = await alice.CreateSessionAsync();
        await alice.PlayAsync(played, "I light a lantern.");
        (await alice.PutAsync($"/api/sessions/{played}/memory/fact:lantern", System.Net.Http.Json.JsonContent.Create(
            new { type = "fact", name = "Lantern", content = "The lantern burns blue." }))).EnsureSuccessStatusCode();
        var export = await alice.ExportAsync(played);
        var entity = export["memory"]!.AsArray().Single(m => m!["entityId"]!.GetValue<string>() == "fact:lantern")!;
        var revision = entity["history"]!.AsArray()[^1]!;
        revision["value"]!["lastSeq"] = int.MaxValue; // recall walks seqs down from the highest lastSeq it holds

        var imported = (await alice.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created))["sessionId"]!.GetValue<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var turn = await alice.PlayAsync(imported, "I raise the lantern.").WaitAsync(Deadline);
        output.WriteLine($"a turn of the imported session: {clock.ElapsedMilliseconds} ms");
        Assert.Equal("completed", turn["status"]!.GetValue<string>());
        var stored = await alice.GetAsync($"/api/sessions/{imported}/memory/fact:lantern").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(revision["seq"]!.GetValue<int>(), stored["lastSeq"]!.GetValue<int>());
    }
}
