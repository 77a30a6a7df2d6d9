using Loom.LoadTests.Client;
using Loom.LoadTests.Core;

namespace Loom.LoadTests.Scenarios.Roll;

/// <summary>One turn as its player saw it: sent first at <see cref="SubmittedAt"/>, seen completed at <see cref="CompletedAt"/>.</summary>
public sealed record PlayedTurn(long N, string Input, DateTime SubmittedAt, DateTime? CompletedAt, int Attempts, string? Failure);

/// <summary>
/// A player of one session during a roll: sends a turn (<c>?wait=true</c>), reads the answer for the think time, sends
/// the next. A 503 or a refused connection (a gateway leaving) is retried with the same <c>Idempotency-Key</c>, as a
/// client of the contract does, so a turn that was accepted before the failure is answered, never made twice. Any
/// other 5xx is counted as a violation of the upgrade's promise.
/// </summary>
public sealed class RollingPlayer(string sessionId, Func<LoomClient> gateway, TimeSpan thinkTime, TimeSpan turnDeadline, StepStats? timeline = null)
{
    private readonly List<PlayedTurn> _turns = [];
    private readonly Dictionary<string, int> _retried = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];

    public string SessionId => sessionId;

    public IReadOnlyList<PlayedTurn> Turns { get { lock (_turns) return _turns.ToArray(); } }

    public IReadOnlyDictionary<string, int> Retried { get { lock (_retried) return new Dictionary<string, int>(_retried); } }

    public IReadOnlyList<string> Violations { get { lock (_violations) return _violations.ToArray(); } }

    public int Completed { get { lock (_turns) return _turns.Count(t => t.CompletedAt is not null); } }

    public static string InputOf(string sessionId, long n) => $"{ScenarioRun.TurnInput(n)} [{sessionId}#{n}]";

    /// <summary>Plays until <paramref name="playing"/> says stop; the turn in flight is always finished.</summary>
    public async Task RunAsync(Func<bool> playing, CancellationToken ct)
    {
        for (long n = 0; playing() && !ct.IsCancellationRequested; n++)
        {
            var turn = await PlayOneAsync(n, ct);
            lock (_turns) _turns.Add(turn);
            // The report's latency-over-time chart: each turn at the second it was answered.
            if (turn.CompletedAt is { } done) timeline?.RecordOk(done - turn.SubmittedAt);
            else timeline?.RecordFail("turn not completed");
            if (turn.Failure is not null) return; // the session's order is unknown from here: stop and report
            try { await Task.Delay(thinkTime, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task<PlayedTurn> PlayOneAsync(long n, CancellationToken ct)
    {
        var input = InputOf(sessionId, n);
        var key = Guid.NewGuid().ToString("N");
        var submittedAt = DateTime.UtcNow;
        var deadline = submittedAt + turnDeadline;
        for (var attempt = 1; ; attempt++)
        {
            string retry;
            try
            {
                await gateway().SendTurnAsync(sessionId, input, key, 60, ct);
                return new PlayedTurn(n, input, submittedAt, DateTime.UtcNow, attempt, null);
            }
            catch (LoomApiException e) when (e.StatusCode == 503)
            {
                retry = "503";
            }
            catch (LoomApiException e) when (e.StatusCode >= 500)
            {
                lock (_violations) _violations.Add($"{sessionId} turn {n}: {e.Message}");
                retry = $"http {e.StatusCode}";
            }
            catch (LoomApiException e)
            {
                return new PlayedTurn(n, input, submittedAt, null, attempt, e.Message);
            }
            catch (TurnNotCompletedException e)
            {
                return new PlayedTurn(n, input, submittedAt, null, attempt, $"{e.Kind}: {e.Message}");
            }
            catch (HttpRequestException)
            {
                retry = "connection"; // refused or reset: the gateway it used is leaving
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                retry = "client timeout";
            }
            lock (_retried) _retried[retry] = _retried.GetValueOrDefault(retry) + 1;
            if (DateTime.UtcNow >= deadline || ct.IsCancellationRequested)
                return new PlayedTurn(n, input, submittedAt, null, attempt, $"not completed within {turnDeadline.TotalSeconds:0} s (last: {retry})");
            try { await Task.Delay(TimeSpan.FromMilliseconds(250), ct); }
            catch (OperationCanceledException) { return new PlayedTurn(n, input, submittedAt, null, attempt, "cancelled"); }
        }
    }

    /// <summary>
    /// Reads the session's timeline and compares it with what this player was told: every completed turn exactly once,
    /// in the order sent, and nothing the player did not send.
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckTimelineAsync(LoomClient client, CancellationToken ct)
    {
        var timeline = new List<TurnInfo>();
        string? after = null;
        do
        {
            var page = await client.ListTurnsAsync(sessionId, after, ct);
            timeline.AddRange(page.Items);
            after = page.Next;
        } while (after is not null);

        var problems = new List<string>();
        var expected = Turns.Where(t => t.CompletedAt is not null).Select(t => t.Input).ToList();
        var completed = timeline.Where(t => t.Status == "completed").Select(t => t.Input ?? "").ToList();
        var ours = completed.Where(i => i.EndsWith(']') && i.Contains($"[{sessionId}#", StringComparison.Ordinal)).ToList();
        if (ours.Count != completed.Count) problems.Add($"{sessionId}: {completed.Count - ours.Count} completed turns the player never sent");
        if (!ours.SequenceEqual(expected))
            problems.Add($"{sessionId}: timeline holds {ours.Count} completed turns, the player saw {expected.Count} completed " +
                         $"(duplicates: {ours.Count - ours.Distinct(StringComparer.Ordinal).Count()}, first difference at {FirstDifference(ours, expected)})");
        foreach (var t in timeline.Where(t => t.Status is not ("completed" or "cancelled")))
            problems.Add($"{sessionId}: turn {t.Seq} is {t.Status}");
        return problems;
    }

    private static int FirstDifference(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var i = 0;
        while (i < a.Count && i < b.Count && a[i] == b[i]) i++;
        return i;
    }
}
