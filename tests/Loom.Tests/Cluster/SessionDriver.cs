using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Loom.Tests.Cluster;

/// <summary>One accepted turn as the client saw it.</summary>
public sealed record AcceptedTurn(int Index, string Key, string TurnId, string Input, DateTime SubmittedAt)
{
    public DateTime? CompletedSeenAt { get; set; }
    public string? FinalStatus { get; set; }
    /// <summary>Where the time went (a slow turn's phases): the first answer naming the turn, the duplicate's answer,
    /// and the server's own start and completion times.</summary>
    public DateTime AcceptedAt { get; set; }
    public int SubmitRetries { get; set; }
    public DateTime DuplicateAnsweredAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? CompletedAt { get; set; }

    public string Phases() =>
        $"{Key} {TurnId} submitted {SubmittedAt:HH:mm:ss.fff}: accepted +{Ms(AcceptedAt)} ({SubmitRetries} retries), duplicate +{Ms(DuplicateAnsweredAt)}, started +{Ms(StartedAt)}, " +
        $"completed +{Ms(CompletedAt)}, seen +{Ms(CompletedSeenAt)}";

    private string Ms(DateTime? at) => at is { } t ? $"{(t - SubmittedAt).TotalMilliseconds:F0} ms" : "?";
}

/// <summary>
/// Plays one session like a careful client: each turn is submitted with an Idempotency-Key and retried with the
/// same key after a 503, a timeout or a dropped connection; every answer for a key must name the same turn. The next
/// turn is submitted once the previous one is seen completed.
/// </summary>
public sealed class SessionDriver(HttpClient http, string sessionId, string tag, TimeSpan thinkTime = default, TimeSpan? completeDeadline = null,
    TimeSpan? submitDeadline = null)
{
    /// <summary>How long a submit may be retried before it counts as refused (longer where a failure is slow to detect).</summary>
    private readonly TimeSpan _submitDeadline = submitDeadline ?? TimeSpan.FromSeconds(60);
    /// <summary>How long a turn may take to be seen finished (longer where a failure is slow to detect).</summary>
    private readonly TimeSpan _completeDeadline = completeDeadline ?? TimeSpan.FromSeconds(90);
    private readonly List<AcceptedTurn> _accepted = [];
    private readonly List<string> _violations = [];

    public string SessionId { get; } = sessionId;
    public int Retries { get; private set; }
    public Dictionary<int, int> StatusCounts { get; } = [];
    /// <summary>The problem <c>code</c> of every 503 a submit got, counted.</summary>
    public Dictionary<string, int> UnavailableCodes { get; } = [];

    public IReadOnlyList<AcceptedTurn> Accepted { get { lock (_accepted) return _accepted.ToList(); } }
    public IReadOnlyList<string> Violations { get { lock (_violations) return _violations.ToList(); } }
    public List<TimeSpan> Latencies { get; } = [];

    public int Completed { get { lock (_accepted) return _accepted.Count(a => a.FinalStatus == "completed"); } }

    /// <summary>The first completion of a turn submitted after <paramref name="since"/> (null while none).</summary>
    public DateTime? FirstCompletionOfTurnSubmittedAfter(DateTime since)
    {
        lock (_accepted) return _accepted.Where(a => a.SubmittedAt > since && a.CompletedSeenAt is not null).Select(a => a.CompletedSeenAt).Min();
    }

    public async Task RunAsync(Func<bool> keepGoing)
    {
        for (var index = 1; keepGoing(); index++)
        {
            var key = $"{tag}-{SessionId}-{index}";
            var input = $"I walk to waypoint {index} ({tag}).";
            var submittedAt = DateTime.UtcNow;
            var watch = Stopwatch.StartNew();
            var retriesBefore = Retries;
            var turnId = await SubmitAsync(key, input);
            if (turnId is null) return; // already recorded as a violation
            var turn = new AcceptedTurn(index, key, turnId, input, submittedAt) { AcceptedAt = DateTime.UtcNow, SubmitRetries = Retries - retriesBefore };
            lock (_accepted) _accepted.Add(turn);

            // A deliberate duplicate: the same key again must name the same turn and make nothing new.
            var again = await SubmitAsync(key, input);
            if (again is not null && again != turnId) Violation($"key {key} answered {turnId} then {again}");
            turn.DuplicateAnsweredAt = DateTime.UtcNow;

            (turn.FinalStatus, turn.StartedAt, turn.CompletedAt) = await WaitForEndAsync(turnId);
            turn.CompletedSeenAt = DateTime.UtcNow;
            if (turn.FinalStatus != "completed") Violation($"turn {turnId} ended as {turn.FinalStatus}");
            lock (Latencies) Latencies.Add(watch.Elapsed);
            if (thinkTime > TimeSpan.Zero) await Task.Delay(thinkTime); // a player reading the answer before typing
        }
    }

    private async Task<string?> SubmitAsync(string key, string input)
    {
        var deadline = DateTime.UtcNow + _submitDeadline;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/sessions/{SessionId}/turns") { Content = JsonContent.Create(new { input }) };
                request.Headers.Add("Idempotency-Key", key);
                using var response = await http.SendAsync(request);
                Count(response.StatusCode);
                if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK)
                {
                    var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                    return body["turnId"]!.GetValue<string>();
                }
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    if (response.Headers.RetryAfter is null) Violation("503 without Retry-After");
                    if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") Violation("503 without problem+json");
                    var code = JsonNode.Parse(await response.Content.ReadAsStringAsync())?["code"]?.GetValue<string>() ?? "";
                    lock (UnavailableCodes) UnavailableCodes[code] = UnavailableCodes.GetValueOrDefault(code) + 1;
                }
                else
                {
                    Violation($"submit {key}: unexpected {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Timeout or dropped connection: the outcome is unknown, so retry with the same key.
                Count(0);
            }
            Retries++;
            await Task.Delay(250);
        }
        Violation($"submit {key} not accepted within {_submitDeadline}");
        return null;
    }

    private async Task<(string Status, DateTime? StartedAt, DateTime? CompletedAt)> WaitForEndAsync(string turnId)
    {
        var deadline = DateTime.UtcNow + _completeDeadline;
        var last = "unknown";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync($"/api/sessions/{SessionId}/turns/{turnId}");
                if (response.IsSuccessStatusCode)
                {
                    var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                    last = body["status"]!.GetValue<string>();
                    if (last is "completed" or "failed" or "retconned")
                        return (last, body["startedAt"]?.GetValue<DateTime>().ToUniversalTime(), body["completedAt"]?.GetValue<DateTime>().ToUniversalTime());
                }
                else if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    Violation($"poll {turnId}: unexpected {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Retry the read.
            }
            await Task.Delay(100);
        }
        return ($"not finished within {_completeDeadline} (last {last})", null, null);
    }

    private void Count(HttpStatusCode status)
    {
        lock (StatusCounts) StatusCounts[(int)status] = StatusCounts.GetValueOrDefault((int)status) + 1;
    }

    private void Violation(string what)
    {
        lock (_violations) _violations.Add($"{SessionId}: {what}");
    }
}
