using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Loom.LoadTests.Client;
using Loom.LoadTests.Core;
using Loom.LoadTests.FakeLlm;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// Shared sessions fan every event out to every member: S sessions (default 100) × 5 members, each member with its
/// own key and its own SSE connection; one member per session types T turns (default 5) at L = 1.5 s. Measures that
/// every member gets every event, and the delivery delay of each <c>turn.delta</c> at each member after the fake
/// narrator flushed the chunk that ends it (same process, same clock). Needs the embedded gateway without keys (the
/// scenario makes its own with the local admin), so run it on its own, not inside <c>all</c>.
/// </summary>
public sealed class MultiplayerScenario : ILoadScenario
{
    private const int DefaultSessions = 100;
    private const int Members = 5;
    private const int DefaultTurns = 5;
    private const double DeliveryP95TargetMs = 50;

    public string Name => "multiplayer";

    public string Description =>
        $"S shared sessions (default {DefaultSessions}) × {Members} members, each on its own SSE stream, one member per session typing T turns (default {DefaultTurns}) at L = 1.5 s: "
        + "turn latency, events each member received vs sent, turn.delta delivery after the narrator's chunk (p50, p95, max; target p95 ≤ 50 ms).";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        if (run.Fake is null)
        {
            report.Notes.Add("multiplayer needs the runner's fake LLM (embedded gateway, --llm fake) to time chunks; skipped.");
            return;
        }
        var sessions = run.Options.Users ?? DefaultSessions;
        var turns = run.Options.Turns ?? DefaultTurns;
        run.UseLatency(run.Options.Latency, report);
        var world = await run.CreateWorldAsync(Name, ct);

        using var admin = Http(run, run.Options.ApiKey);
        var keys = await CreateKeysAsync(admin, run.RunTag, ct);
        using var owner = new LoomClient(run.Client.BaseAddress, keys[0]);
        var memberHttp = keys.Select(k => Http(run, k)).ToArray();
        try
        {
            // Sessions and memberships are set up before the clock starts.
            var ids = new string[sessions];
            using (var gate = new SemaphoreSlim(25))
            {
                await Task.WhenAll(Enumerable.Range(0, sessions).Select(async s =>
                {
                    await gate.WaitAsync(ct);
                    try
                    {
                        ids[s] = (await owner.CreateSessionAsync(world, $"mp-{s}", ct)).SessionId;
                        var invite = await Json(await memberHttp[0].PostAsJsonAsync($"/api/sessions/{ids[s]}/invites", new { role = "player" }, ct));
                        for (var m = 1; m < Members; m++)
                        {
                            await Json(await memberHttp[m].PostAsJsonAsync($"/api/invites/{invite["code"]}/join", new { displayName = $"P{m}" }, ct));
                        }
                    }
                    finally { gate.Release(); }
                }));
            }

            // The chunk timings of the fake narrator, per turn marker ("S12T3") and chunk index.
            var chunkEnds = ChunkEnds(run.Fake.Behaviour);
            var emitted = new ConcurrentDictionary<string, long[]>();
            run.Fake.ChunkWritten = (input, index, at) =>
            {
                if (Marker(input) is { } marker) emitted.GetOrAdd(marker, _ => new long[chunkEnds.Length])[index] = at;
            };

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var watchers = new List<Watcher>();
            for (var s = 0; s < sessions; s++)
                for (var m = 0; m < Members; m++) watchers.Add(new Watcher(s, m));
            await Task.WhenAll(watchers.Select(w => w.ConnectAsync(memberHttp[w.Member], ids[w.Session], stop.Token)));
            var reading = watchers.Select(w => w.ReadAsync(stop.Token)).ToArray();

            var phase = await run.RunPhaseAsync(report, $"{sessions} sessions × {Members} members, 1 typing × {turns} turns",
                new ConstantConcurrency(sessions, run.Options.Duration, turns),
                (u, steps) => steps.RunAsync("turn", c => owner.SendTurnAsync(ids[u.UserIndex], $"S{u.UserIndex}T{u.Iteration} I call out across the square.",
                    Guid.NewGuid().ToString("N"), 120, c), u.Cancellation), ct);

            // Every member must see every completed turn; wait for the stragglers with a deadline.
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(60) && watchers.Any(w => w.Completed < turns)) await Task.Delay(100, ct);
            await stop.CancelAsync();
            await Task.WhenAll(reading);

            var delays = new List<double>();
            long unmatched = 0;
            foreach (var w in watchers)
            {
                foreach (var (marker, offsetEnd, at) in w.Deltas)
                {
                    var chunk = Array.FindIndex(chunkEnds, end => end >= offsetEnd);
                    if (chunk < 0 || !emitted.TryGetValue(marker, out var times) || times[chunk] == 0) { unmatched++; continue; }
                    delays.Add(Stopwatch.GetElapsedTime(times[chunk], at).TotalMilliseconds);
                }
            }
            delays.Sort();
            double Pct(double p) => delays.Count == 0 ? double.NaN : delays[Math.Min(delays.Count - 1, (int)Math.Ceiling(p * delays.Count) - 1)];

            var typed = phase.Step("turn");
            var expectedCompleted = (long)sessions * Members * turns;
            var gotCompleted = watchers.Sum(w => (long)w.Completed);
            // Each session's members must have received the same deltas as each other.
            var deltaMismatch = watchers.GroupBy(w => w.Session).Count(g => g.Select(w => w.Deltas.Count).Distinct().Count() > 1);
            var streamErrors = watchers.Count(w => w.Error is not null);

            report.Tables.Add(new ReportTable($"Shared sessions (LLM latency {Durations.Format(run.LlmLatency)})",
                ["metric", "value", "target"],
                [
                    ["sessions × members", $"{sessions} × {Members} ({sessions * Members} SSE streams)", "100 × 5"],
                    ["turns typed (ok / failed)", $"{Cells.Count(typed?.Ok ?? 0)} / {Cells.Count(typed?.Fail ?? 0)}", "0 failed"],
                    ["turn p95 (typing member)", Cells.OrNa(typed, x => Cells.Ms(x.P95Ms)), "–"],
                    ["turn.completed received / expected", $"{Cells.Count(gotCompleted)} / {Cells.Count(expectedCompleted)}", "all"],
                    ["sessions whose members saw different deltas", Cells.Count(deltaMismatch), "0"],
                    ["stream errors", Cells.Count(streamErrors), "0"],
                    ["turn.delta deliveries timed", Cells.Count(delays.Count), "–"],
                    ["deltas not matched to a chunk", Cells.Count(unmatched), "–"],
                    ["delivery after chunk p50", Cells.Ms(Pct(0.50)), "–"],
                    ["delivery after chunk p95", Cells.Ms(Pct(0.95)), $"≤ {DeliveryP95TargetMs} ms"],
                    ["delivery after chunk max", Cells.Ms(delays.Count == 0 ? double.NaN : delays[^1]), "–"],
                    ["target CPU", Cells.CpuPercent(phase.Report.Target?.CpuPercent ?? double.NaN), "–"],
                    ["target peak RSS", Cells.Mb(phase.Report.Target?.PeakRssMb ?? double.NaN), "–"],
                ]));
            report.Checks.Add(CheckResult.AtMost("failed turns (shared sessions)", typed?.Fail ?? 0, 0, v => Cells.Count((long)v), run.Options.Strict, 0));
            report.Checks.Add(CheckResult.AtMost("member events missed", expectedCompleted - gotCompleted + deltaMismatch + streamErrors, 0, v => Cells.Count((long)v), run.Options.Strict, 0));
            report.Checks.Add(CheckResult.AtMost("turn.delta delivery p95 after the narrator's chunk", Pct(0.95), DeliveryP95TargetMs, Cells.Ms, run.Options.Strict, unit: "ms"));
        }
        finally
        {
            run.Fake.ChunkWritten = null;
            foreach (var h in memberHttp) h.Dispose();
        }
    }

    /// <summary>An admin key (as the local user, or the given key), then one player key per member role in the sessions.</summary>
    private static async Task<string[]> CreateKeysAsync(HttpClient local, string tag, CancellationToken ct)
    {
        var admin = await Json(await local.PostAsJsonAsync("/api/admin/keys", new { owner = $"mp-admin-{tag}", roles = new[] { "admin" }, name = "multiplayer load test" }, ct));
        local.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin["key"]!.GetValue<string>());
        var keys = new string[Members];
        for (var m = 0; m < Members; m++)
        {
            keys[m] = (await Json(await local.PostAsJsonAsync("/api/admin/keys", new { owner = $"mp-{tag}-{m}", roles = new[] { "player" } }, ct)))["key"]!.GetValue<string>();
        }
        return keys;
    }

    private static HttpClient Http(ScenarioRun run, string? key)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2048 }) { BaseAddress = run.Client.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static async Task<JsonNode> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Cumulative end offset (exclusive) of each narrative chunk the fake writes.</summary>
    private static int[] ChunkEnds(FakeLlmBehaviour behaviour)
    {
        var chunks = FakeNarrative.Chunks(behaviour.CompletionTokens, behaviour.EffectiveChunks, behaviour.IncludeMemoryBlock);
        var ends = new int[chunks.Count];
        var total = 0;
        for (var i = 0; i < chunks.Count; i++) ends[i] = total += chunks[i].Length;
        return ends;
    }

    /// <summary>"S12T3" from an input (attributed as "name: S12T3 …").</summary>
    private static string? Marker(string input)
    {
        var start = input.IndexOf('S', StringComparison.Ordinal);
        while (start >= 0)
        {
            var end = input.IndexOf(' ', start);
            var token = end < 0 ? input[start..] : input[start..end];
            if (token.Length > 3 && token.Contains('T', StringComparison.Ordinal) && char.IsDigit(token[1])) return token;
            start = input.IndexOf('S', start + 1);
        }
        return null;
    }

    /// <summary>One member's SSE stream: which turn each delta belongs to, where it ends in the narrative, when it arrived.</summary>
    private sealed class Watcher(int session, int member)
    {
        private StreamReader? _reader;
        private readonly Dictionary<string, string> _markers = [];
        private readonly Dictionary<string, int> _offsets = [];

        public int Session => session;
        public int Member => member;
        public List<(string Marker, int OffsetEnd, long At)> Deltas { get; } = [];
        public int Completed { get; private set; }
        public Exception? Error { get; private set; }

        public async Task ConnectAsync(HttpClient http, string sessionId, CancellationToken ct)
        {
            var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events"), HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            _reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            await _reader.ReadLineAsync(ct); // ": connected": the subscription is in place
        }

        public async Task ReadAsync(CancellationToken ct)
        {
            string? type = null;
            try
            {
                while (await _reader!.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                    else if (line.StartsWith("data: ", StringComparison.Ordinal)) Handle(type, line[6..], Stopwatch.GetTimestamp());
                    else if (line.Length == 0) type = null;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                Error = e;
            }
            finally
            {
                _reader!.Dispose();
            }
        }

        private void Handle(string? type, string data, long at)
        {
            switch (type)
            {
                case "turn.queued" or "turn.started":
                {
                    var turn = JsonNode.Parse(data)!;
                    if (Marker(turn["input"]!.GetValue<string>()) is { } marker) _markers[turn["turnId"]!.GetValue<string>()] = marker;
                    break;
                }
                case "turn.delta":
                {
                    using var doc = JsonDocument.Parse(data);
                    var turnId = doc.RootElement.GetProperty("turnId").GetString()!;
                    var end = _offsets.GetValueOrDefault(turnId) + doc.RootElement.GetProperty("text").GetString()!.Length;
                    _offsets[turnId] = end;
                    if (_markers.TryGetValue(turnId, out var marker)) Deltas.Add((marker, end, at));
                    break;
                }
                case "turn.completed":
                    Completed++;
                    break;
            }
        }
    }
}
