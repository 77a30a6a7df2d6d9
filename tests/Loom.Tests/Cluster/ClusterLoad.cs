using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Loom.Tests.Cluster;

/// <summary>
/// N sessions played concurrently through the gateway while a failure is injected: measures how long until every
/// session is served again, then checks each session's timeline against what the client was told.
/// </summary>
public sealed class ClusterLoad(LoomClusterFixture cluster, ITestOutputHelper output, string tag, int sessions = 6, HttpClient? client = null,
    TimeSpan thinkTime = default, TimeSpan? completeDeadline = null, TimeSpan? submitDeadline = null)
{
    /// <summary>The fixture's gateway, or a client of its own (e.g. one balancing over several gateways).</summary>
    private readonly HttpClient _http = client ?? cluster.Http;
    public static readonly TimeSpan RecoveryBudget = TimeSpan.FromSeconds(30);
    /// <summary>Bound on the time until turns flow for every session again (served + the turn in flight + one turn).</summary>
    public static readonly TimeSpan TurnsFlowingBudget = TimeSpan.FromSeconds(60);
    private readonly List<SessionDriver> _drivers = [];
    private readonly List<Task> _running = [];
    private volatile bool _submitting = true;

    public IReadOnlyList<SessionDriver> Drivers => _drivers;

    public async Task StartAsync()
    {
        for (var i = 0; i < sessions; i++)
        {
            var id = await CreateSessionAsync();
            _drivers.Add(new SessionDriver(_http, id, tag, thinkTime, completeDeadline, submitDeadline));
        }
        foreach (var driver in _drivers) _running.Add(Task.Run(() => driver.RunAsync(() => _submitting)));
        foreach (var driver in _drivers) _probing.Add(Task.Run(() => ProbeAsync(driver.SessionId)));
        // Warm: every session has finished turns before the failure.
        await cluster.WaitUntilAsync("every session completed 2 turns", TimeSpan.FromSeconds(60),
            () => Task.FromResult(_drivers.All(d => d.Completed >= 2)));
    }

    /// <summary>
    /// Served: from <paramref name="injectedAt"/> until every session answers reads again for good (the first of at
    /// least three successful probes after its last failed one). TurnsFlowing: until every session completed a turn
    /// submitted after the failure (includes the wait for the turn in flight and one turn's latency).
    /// </summary>
    public async Task<Recovery> MeasureRecoveryAsync(DateTime injectedAt, TimeSpan within)
    {
        await cluster.WaitUntilAsync("every session answers again and served a turn submitted after the failure", within,
            () => Task.FromResult(_drivers.All(d => ServedAt(d.SessionId, injectedAt) is not null &&
                                                    d.FirstCompletionOfTurnSubmittedAfter(injectedAt) is not null)));
        var served = _drivers.Max(d => ServedAt(d.SessionId, injectedAt)!.Value) - injectedAt;
        var flowing = _drivers.Max(d => d.FirstCompletionOfTurnSubmittedAfter(injectedAt)!.Value) - injectedAt;
        var failedProbes = _probes.Values.Sum(list => { lock (list) return list.Count(p => !p.Ok && p.SentAt >= injectedAt); });
        return new Recovery(served < TimeSpan.Zero ? TimeSpan.Zero : served, flowing, failedProbes);
    }

    public sealed record Recovery(TimeSpan Served, TimeSpan TurnsFlowing, int FailedProbes)
    {
        public override string ToString() =>
            $"every session answering again after {Served.TotalSeconds:F1} s ({FailedProbes} failed probes), " +
            $"every session completed a post-failure turn after {TurnsFlowing.TotalSeconds:F1} s";
    }

    private sealed record Probe(DateTime SentAt, DateTime DoneAt, bool Ok);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, List<Probe>> _probes = new();
    private readonly List<Task> _probing = [];
    private volatile bool _probeOn = true;

    /// <summary>Reads the session every 250 ms (5 s timeout each) to see when the cluster serves it.</summary>
    private async Task ProbeAsync(string sessionId)
    {
        var list = _probes.GetOrAdd(sessionId, _ => []);
        while (_probeOn)
        {
            var sentAt = DateTime.UtcNow;
            bool ok;
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await _http.GetAsync($"/api/sessions/{sessionId}", cts.Token);
                ok = response.IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                ok = false;
            }
            lock (list) list.Add(new Probe(sentAt, DateTime.UtcNow, ok));
            await Task.Delay(250);
        }
    }

    /// <summary>The session reads sent within [from, to): how many, how many failed, and their latencies.</summary>
    public (int Count, int Failed, List<TimeSpan> Latencies) ProbesBetween(DateTime from, DateTime to)
    {
        var probes = _probes.Values.SelectMany(list => { lock (list) return list.Where(p => p.SentAt >= from && p.SentAt < to).ToList(); }).ToList();
        return (probes.Count, probes.Count(p => !p.Ok), probes.Select(p => p.DoneAt - p.SentAt).Order().ToList());
    }

    /// <summary>True once every session has been read at least <paramref name="times"/> times since <paramref name="from"/>.</summary>
    public bool EverySessionReadSince(DateTime from, int times) =>
        _drivers.All(d => _probes.TryGetValue(d.SessionId, out var list) && CountSince(list, from) >= times);

    private static int CountSince(List<Probe> list, DateTime from) { lock (list) return list.Count(p => p.SentAt >= from); }

    private DateTime? ServedAt(string sessionId, DateTime injectedAt)
    {
        if (!_probes.TryGetValue(sessionId, out var list)) return null;
        List<Probe> after;
        lock (list) after = list.Where(p => p.SentAt >= injectedAt).ToList();
        var lastFailure = after.FindLastIndex(p => !p.Ok);
        var streak = after.Skip(lastFailure + 1).ToList();
        return streak.Count >= 3 ? streak[0].DoneAt : null;
    }

    /// <summary>Stops submitting, lets every accepted turn finish, then checks every timeline.</summary>
    public async Task StopAndVerifyAsync()
    {
        _submitting = false;
        _probeOn = false;
        var all = Task.WhenAll(_running.Concat(_probing));
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(150))) != all)
        {
            Assert.Fail("session drivers did not finish in time");
        }
        await all;

        var violations = _drivers.SelectMany(d => d.Violations).ToList();
        foreach (var driver in _drivers) violations.AddRange(await CheckTimelineAsync(driver));
        Assert.True(violations.Count == 0, string.Join("\n", violations.Take(30)));
    }

    /// <summary>Turn latencies (submit to seen completed) of the turns submitted within [from, to), sorted.</summary>
    public List<TimeSpan> LatenciesOfTurnsSubmitted(DateTime from, DateTime to) =>
        _drivers.SelectMany(d => d.Accepted)
            .Where(a => a.SubmittedAt >= from && a.SubmittedAt < to && a.CompletedSeenAt is not null)
            .Select(a => a.CompletedSeenAt!.Value - a.SubmittedAt).Order().ToList();

    /// <summary>The <paramref name="count"/> slowest turns submitted within [from, to), each with its phases.</summary>
    public IEnumerable<string> SlowestTurnsSubmitted(DateTime from, DateTime to, int count) =>
        _drivers.SelectMany(d => d.Accepted)
            .Where(a => a.SubmittedAt >= from && a.SubmittedAt < to && a.CompletedSeenAt is not null)
            .OrderByDescending(a => a.CompletedSeenAt!.Value - a.SubmittedAt).Take(count).Select(a => a.Phases());

    /// <summary>The p95 of a sorted list (zero when empty).</summary>
    public static TimeSpan P95(List<TimeSpan> sorted) => Percentile(sorted, 0.95);

    /// <summary>The nearest-rank percentile <paramref name="q"/> (0..1] of a sorted list (zero when empty).</summary>
    public static TimeSpan Percentile(List<TimeSpan> sorted, double q) =>
        sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Max(0, (int)Math.Ceiling(sorted.Count * q) - 1)];

    /// <summary>Submit answers that were a 5xx other than 503 (a 503 must carry Retry-After: the drivers check that).</summary>
    public int ServerErrorsOtherThan503 => _drivers.Sum(d => { lock (d.StatusCounts) return d.StatusCounts.Where(p => p.Key >= 500 && p.Key != 503).Sum(p => p.Value); });

    public string Summary()
    {
        var latencies = _drivers.SelectMany(d => d.Latencies).Order().ToList();
        var statuses = _drivers.SelectMany(d => d.StatusCounts).GroupBy(p => p.Key)
            .OrderBy(g => g.Key).Select(g => $"{(g.Key == 0 ? "timeout/conn" : g.Key.ToString())}×{g.Sum(p => p.Value)}");
        var p95 = latencies.Count == 0 ? TimeSpan.Zero : latencies[(int)Math.Ceiling(latencies.Count * 0.95) - 1];
        return $"{tag}: {_drivers.Sum(d => d.Accepted.Count)} turns accepted in {_drivers.Count} sessions, " +
               $"{_drivers.Sum(d => d.Retries)} retries, submit answers [{string.Join(", ", statuses)}], " +
               $"turn p95 {p95.TotalMilliseconds:F0} ms, max {(latencies.Count == 0 ? 0 : latencies[^1].TotalMilliseconds):F0} ms";
    }

    private async Task<string> CreateSessionAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var response = await _http.PostAsJsonAsync("/api/sessions", new { worldId = "ember-vale", name = tag });
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["sessionId"]!.GetValue<string>();
                }
                if (DateTime.UtcNow > deadline) Assert.Fail($"create session: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
            }
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Every turn that got a 202 is on the timeline exactly once, completed, in submission order, with seq 1..n and no
    /// other turn; each started after the previous one completed.
    /// </summary>
    private async Task<List<string>> CheckTimelineAsync(SessionDriver driver)
    {
        var problems = new List<string>();
        var items = new List<JsonNode>();
        string? after = null;
        do
        {
            var page = await GetWithRetryAsync($"/api/sessions/{driver.SessionId}/turns?limit=200&includeRetconned=true" + (after is null ? "" : $"&after={after}"));
            items.AddRange(page["items"]!.AsArray().Select(n => n!));
            after = page["next"]?.GetValue<string>();
        } while (after is not null);

        var accepted = driver.Accepted;
        var prefix = $"{driver.SessionId}:";
        if (items.Count != accepted.Count) problems.Add($"{prefix} {accepted.Count} turns accepted but {items.Count} on the timeline");
        var ids = items.Select(i => i["turnId"]!.GetValue<string>()).ToList();
        if (ids.Distinct().Count() != ids.Count) problems.Add($"{prefix} duplicate turn ids on the timeline");
        DateTimeOffset? previousCompleted = null;
        for (var i = 0; i < Math.Min(items.Count, accepted.Count); i++)
        {
            var item = items[i];
            var seq = item["seq"]!.GetValue<int>();
            var status = item["status"]!.GetValue<string>();
            if (seq != i + 1) problems.Add($"{prefix} position {i} has seq {seq}");
            if (ids[i] != accepted[i].TurnId) problems.Add($"{prefix} position {i} is {ids[i]}, expected {accepted[i].TurnId}");
            if (item["input"]!.GetValue<string>() != accepted[i].Input) problems.Add($"{prefix} seq {seq} input differs");
            if (status != "completed") problems.Add($"{prefix} seq {seq} is {status}");
            var started = item["startedAt"]?.GetValue<DateTimeOffset>();
            if (previousCompleted is not null && started < previousCompleted) problems.Add($"{prefix} seq {seq} started before seq {seq - 1} completed");
            previousCompleted = item["completedAt"]?.GetValue<DateTimeOffset>();
        }
        var session = await GetWithRetryAsync($"/api/sessions/{driver.SessionId}");
        if (session["turnCount"]!.GetValue<int>() != accepted.Count) problems.Add($"{prefix} turnCount {session["turnCount"]} != {accepted.Count}");
        return problems;
    }

    private async Task<JsonNode> GetWithRetryAsync(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var response = await _http.GetAsync(path);
                var text = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode) return JsonNode.Parse(text)!;
                if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {text}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
            }
            await Task.Delay(250);
        }
    }

    public void Report(string line) => output.WriteLine(line);
}
