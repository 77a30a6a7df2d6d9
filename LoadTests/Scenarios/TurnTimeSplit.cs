using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Loom.LoadTests.FakeLlm;
using Loom.LoadTests.Reporting;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// Where each turn's time goes, on one clock: the fake model runs in the runner, so the client's send and answer and the
/// model's request arrival and last chunk are all <see cref="Stopwatch"/> readings of this process. Before the model:
/// HTTP in, the accept, the queue, recall, the prompt and the LLM worker's request; the model: its first request's
/// arrival to its last chunk (L, plus the fake's own lateness); after it: reading the stream, memory, the commit and the
/// answer back to the client. Turns are matched to model requests by their input, which the phase makes unique; a
/// turn's other model calls (a rolling summary) carry other text and are left out.
/// </summary>
public sealed class TurnTimeSplit : IDisposable
{
    private readonly FakeLlmServer _fake;
    private readonly ConcurrentDictionary<string, long> _arrived = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastChunk = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<(string Input, long Sent, long Answered, int User, int Turn)> _turns = [];

    public TurnTimeSplit(FakeLlmServer fake)
    {
        _fake = fake;
        fake.RequestArrived = (input, at) => _arrived.TryAdd(input, at);
        fake.ChunkWritten = (input, _, at) => _lastChunk[input] = at;
    }

    /// <summary>A turn the client saw completed: its input, when it was sent and answered (<see cref="Stopwatch"/>), and
    /// which user sent it as its how-manieth turn (both from 1; 0 when not known, which leaves it out of <see cref="ByTurn"/>).</summary>
    public void Record(string input, long sent, long answered, int user = 0, int turn = 0) => _turns.Add((input, sent, answered, user, turn));

    /// <summary>Milliseconds before, in and after the model for every turn matched to its model request; the send and the
    /// answer in milliseconds from the earliest send of all.</summary>
    public IReadOnlyList<Split> Splits()
    {
        var splits = new List<Split>();
        if (_turns.IsEmpty) return splits;
        var start = _turns.Min(t => t.Sent);
        foreach (var (input, sent, answered, user, turn) in _turns)
        {
            if (!_arrived.TryGetValue(input, out var arrived) || !_lastChunk.TryGetValue(input, out var last)) continue;
            splits.Add(new Split(Ms(sent, arrived), Ms(arrived, last), Ms(last, answered)) { User = user, Turn = turn, SentMs = Ms(start, sent), AnsweredMs = Ms(start, answered) });
        }
        return splits;
    }

    /// <summary>
    /// The same split, one row per turn number: users who start together send their n-th turns in a wave, and a phase
    /// ends with its last user, so where each wave queues (before the model, after it) is what the phase's length and TPS
    /// are made of. Two columns say who that last user is: whether users are answered in the same order as in the wave
    /// before (the rank correlation of their answer times: 1 when the order holds, so the last user is whoever the first
    /// wave served last), and the time the user done last spent outside the model in each wave. Null unless the turns
    /// carry their user and turn number.
    /// </summary>
    public static ReportTable? ByTurn(IReadOnlyList<Split> splits, string phase)
    {
        var known = splits.Where(s => s is { Turn: > 0, User: > 0 }).ToList();
        if (known.Count == 0) return null;
        var users = known.GroupBy(s => s.User).Select(g => (Done: g.Max(s => s.AnsweredMs), Turns: g.ToList())).ToList();
        var last = users.MaxBy(u => u.Done).Turns.ToDictionary(s => s.Turn);
        var rows = new List<IReadOnlyList<string>>();
        Dictionary<int, double>? answeredBefore = null;
        foreach (var wave in known.GroupBy(s => s.Turn).OrderBy(g => g.Key))
        {
            var before = wave.Select(s => s.BeforeMs).Order().ToList();
            var after = wave.Select(s => s.AfterMs).Order().ToList();
            var answered = wave.GroupBy(s => s.User).ToDictionary(g => g.Key, g => g.First().AnsweredMs);
            rows.Add([
                wave.Key.ToString(CultureInfo.InvariantCulture),
                Cells.Count(wave.Count()),
                $"{Cells.Ms(wave.Min(s => s.SentMs))} – {Cells.Ms(wave.Max(s => s.SentMs))}",
                $"{Cells.Ms(At(before, 0.50))} / {Cells.Ms(At(before, 0.95))} / {Cells.Ms(before[^1])}",
                $"{Cells.Ms(At(after, 0.50))} / {Cells.Ms(At(after, 0.95))} / {Cells.Ms(after[^1])}",
                $"{Cells.Ms(wave.Min(s => s.AnsweredMs))} – {Cells.Ms(wave.Max(s => s.AnsweredMs))}",
                answeredBefore is null ? "–" : OrderKept(answeredBefore, answered),
                last.TryGetValue(wave.Key, out var own) ? Cells.Ms(own.BeforeMs + own.AfterMs) : "–",
            ]);
            answeredBefore = answered;
        }
        var done = users.Select(u => u.Done).Order().ToList();
        rows.Add(["users done", Cells.Count(done.Count), "–", "–", "–",
            $"median {Cells.Ms(At(done, 0.50))}, last {Cells.Ms(done[^1])}", "–",
            Cells.Ms(last.Values.Sum(s => s.BeforeMs + s.AfterMs))]);
        return new ReportTable($"Turn by turn, {phase} (the runner's clock, from the phase's first send)",
            ["turn", "turns", "sent", "before the model p50 / p95 / max", "after the model p50 / p95 / max", "answered",
             "answer order against the turn before (rank correlation)", "the user done last: outside the model"], rows);
    }

    /// <summary>Spearman's rank correlation of the users' answer times in two waves (users in both; "–" under two).</summary>
    private static string OrderKept(Dictionary<int, double> previous, Dictionary<int, double> current)
    {
        var users = current.Keys.Where(previous.ContainsKey).ToList();
        if (users.Count < 2) return "–";
        var a = Ranks(users.Select(u => previous[u]).ToList());
        var b = Ranks(users.Select(u => current[u]).ToList());
        var mean = (users.Count - 1) / 2.0;
        double cov = 0, va = 0, vb = 0;
        for (var i = 0; i < users.Count; i++)
        {
            cov += (a[i] - mean) * (b[i] - mean);
            va += (a[i] - mean) * (a[i] - mean);
            vb += (b[i] - mean) * (b[i] - mean);
        }
        return (cov / Math.Sqrt(va * vb)).ToString("0.00", CultureInfo.InvariantCulture);

        // Equal answer times take their order of appearance: with many users that moves the figure by less than its
        // two decimals.
        static int[] Ranks(List<double> values)
        {
            var ranks = new int[values.Count];
            var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToList();
            for (var rank = 0; rank < order.Count; rank++) ranks[order[rank]] = rank;
            return ranks;
        }
    }

    /// <summary>The split's table: p50 / p95 / max of each part over all turns, and the parts of the slowest 5 %.</summary>
    public static ReportTable? Table(IReadOnlyList<Split> splits, string phase)
    {
        if (splits.Count == 0) return null;
        var slowest = splits.OrderByDescending(s => s.Total).Take(Math.Max(1, splits.Count / 20)).ToList();
        IReadOnlyList<string> Row(string part, Func<Split, double> of)
        {
            var values = splits.Select(of).Order().ToList();
            return [part, Cells.Ms(At(values, 0.50)), Cells.Ms(At(values, 0.95)), Cells.Ms(values[^1]), Cells.Ms(slowest.Average(of))];
        }
        return new ReportTable($"Where a turn's time goes, {phase} ({splits.Count:N0} turns, the runner's clock)",
            ["part", "p50", "p95", "max", "mean of the slowest 5 %"],
            [
                Row("before the model (HTTP, accept, queue, recall, prompt, LLM request)", s => s.BeforeMs),
                Row("the model (request to last chunk)", s => s.ModelMs),
                Row("after the model (stream read, memory, commit, answer)", s => s.AfterMs),
                Row("whole turn", s => s.Total),
            ]);
    }

    public void Dispose()
    {
        _fake.RequestArrived = null;
        _fake.ChunkWritten = null;
    }

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private static double At(List<double> sorted, double quantile) => sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Count) - 1, 0, sorted.Count - 1)];

    public readonly record struct Split(double BeforeMs, double ModelMs, double AfterMs)
    {
        public double Total => BeforeMs + ModelMs + AfterMs;

        /// <summary>The user who sent the turn and its turn number (from 1; 0 when not recorded).</summary>
        public int User { get; init; }
        public int Turn { get; init; }

        /// <summary>When the turn was sent and answered, in milliseconds from the earliest send of the split.</summary>
        public double SentMs { get; init; }
        public double AnsweredMs { get; init; }
    }
}
