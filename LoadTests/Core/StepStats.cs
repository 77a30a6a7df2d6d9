using System.Diagnostics;
using HdrHistogram;

namespace Loom.LoadTests.Core;

/// <summary>
/// Latencies, outcomes, HTTP status codes, payload bytes and a per-second timeline of one named step. Thread-safe.
/// Percentiles come from an HdrHistogram (3 significant digits); min, max, mean and standard deviation are exact.
/// </summary>
public sealed class StepStats
{
    // Microsecond resolution up to an hour keeps three significant digits at a few hundred KB per step.
    private const long HighestTrackableMicros = 3_600_000_000L;

    private readonly LongHistogram _ok = new(HighestTrackableMicros, 3);
    private readonly Dictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _statusCodes = new(StringComparer.Ordinal);
    private readonly List<SecondBucket> _timeline = [];
    private readonly long _origin;
    private readonly Lock _gate = new();
    private long _fail;
    private long _notAvailable;
    private long _minMicros = long.MaxValue, _maxMicros;
    private double _sumMs, _sumSquaresMs;
    private long _bytesSent, _bytesReceived;

    /// <param name="origin">Stopwatch timestamp the timeline counts seconds from (the phase's start); now when omitted.</param>
    public StepStats(string name, long? origin = null)
    {
        Name = name;
        _origin = origin ?? Stopwatch.GetTimestamp();
    }

    public string Name { get; }

    public long OkCount { get { lock (_gate) return _ok.TotalCount; } }

    public long FailCount { get { lock (_gate) return _fail; } }

    public void RecordOk(TimeSpan latency) => RecordOk(latency, Stopwatch.GetTimestamp());

    /// <summary>A success of <paramref name="latency"/> that finished at Stopwatch timestamp <paramref name="at"/>.</summary>
    public void RecordOk(TimeSpan latency, long at)
    {
        var micros = Math.Clamp(latency.Ticks / 10, 1, HighestTrackableMicros);
        var ms = micros / 1000.0;
        lock (_gate)
        {
            _ok.RecordValue(micros);
            _minMicros = Math.Min(_minMicros, micros);
            _maxMicros = Math.Max(_maxMicros, micros);
            _sumMs += ms;
            _sumSquaresMs += ms * ms;
            BucketAt(at).RecordOk(micros);
        }
    }

    public void RecordFail(string kind) => RecordFail(kind, Stopwatch.GetTimestamp());

    public void RecordFail(string kind, long at)
    {
        lock (_gate)
        {
            _fail++;
            _errors[kind] = _errors.GetValueOrDefault(kind) + 1;
            BucketAt(at).Fail++;
        }
    }

    public void RecordNotAvailable()
    {
        lock (_gate) _notAvailable++;
    }

    /// <summary>One HTTP exchange made by this step: its status ("200", or "none" when no answer came) and payload sizes.</summary>
    public void RecordTraffic(string status, long bytesSent, long bytesReceived)
    {
        lock (_gate)
        {
            _statusCodes[status] = _statusCodes.GetValueOrDefault(status) + 1;
            _bytesSent += bytesSent;
            _bytesReceived += bytesReceived;
        }
    }

    /// <summary>Current p95 in ms (NaN before the first success), for the progress line.</summary>
    public double CurrentP95Ms()
    {
        lock (_gate) return _ok.TotalCount == 0 ? double.NaN : _ok.GetValueAtPercentile(95) / 1000.0;
    }

    private SecondBucket BucketAt(long at)
    {
        var second = (int)Math.Max(0, Stopwatch.GetElapsedTime(_origin, at).TotalSeconds);
        while (_timeline.Count <= second) _timeline.Add(new SecondBucket());
        return _timeline[second];
    }

    public StepSummary Summarise(TimeSpan elapsed)
    {
        lock (_gate)
        {
            var ok = _ok.TotalCount;
            double P(double p) => ok == 0 ? double.NaN : _ok.GetValueAtPercentile(p) / 1000.0;
            var mean = ok == 0 ? double.NaN : _sumMs / ok;
            // Population standard deviation of the successful latencies; max(0, …) absorbs rounding below zero.
            var std = ok == 0 ? double.NaN : Math.Sqrt(Math.Max(0, _sumSquaresMs / ok - mean * mean));
            return new StepSummary(
                Name,
                ok + _fail + _notAvailable,
                ok,
                _fail,
                _notAvailable,
                mean,
                P(50), P(75), P(95), P(99),
                ok == 0 ? double.NaN : _maxMicros / 1000.0,
                elapsed.TotalSeconds,
                new SortedDictionary<string, long>(_errors, StringComparer.Ordinal))
            {
                MinMs = ok == 0 ? double.NaN : _minMicros / 1000.0,
                StdDevMs = std,
                BytesSent = _bytesSent,
                BytesReceived = _bytesReceived,
                StatusCodes = new SortedDictionary<string, long>(_statusCodes, StringComparer.Ordinal),
                Timeline = _timeline.Select((b, i) => b.Summarise(i)).ToArray(),
                Histogram = LatencyHistogram.From(_ok),
            };
        }
    }

    /// <summary>What happened in one second of the phase; a small histogram (2 digits) gives that second's percentiles.</summary>
    private sealed class SecondBucket
    {
        private IntHistogram? _latency;
        public long Fail;

        public void RecordOk(long micros) => (_latency ??= new IntHistogram(HighestTrackableMicros, 2)).RecordValue(micros);

        public TimelinePoint Summarise(int second)
        {
            if (_latency is not { TotalCount: > 0 } h) return new TimelinePoint(second, 0, Fail, double.NaN, double.NaN, double.NaN, double.NaN);
            return new TimelinePoint(second, h.TotalCount, Fail, h.GetMean() / 1000.0, h.GetValueAtPercentile(50) / 1000.0,
                h.GetValueAtPercentile(95) / 1000.0, h.GetMaxValue() / 1000.0);
        }
    }
}

/// <summary>One second of a step: calls finished in it (ok, failed) and the latencies of the successful ones, in ms.</summary>
public sealed record TimelinePoint(int Second, long Ok, long Fail, double MeanMs, double P50Ms, double P95Ms, double MaxMs);

/// <summary>A latency histogram bucket: calls whose latency fell in (<paramref name="FromMs"/>, <paramref name="ToMs"/>].</summary>
public sealed record HistogramBucket(double FromMs, double ToMs, long Count);

public static class LatencyHistogram
{
    /// <summary>Buckets per factor of 10 in latency: fine enough to show two modes a few ms apart, coarse enough to read.</summary>
    public const int BucketsPerDecade = 10;

    /// <summary>The recorded latencies in log-spaced buckets from the smallest to the largest value (empty when none).</summary>
    public static IReadOnlyList<HistogramBucket> From(HistogramBase histogram)
    {
        if (histogram.TotalCount == 0) return [];
        var counts = new SortedDictionary<int, long>();
        foreach (var v in histogram.RecordedValues())
        {
            var ms = Math.Max(0.001, v.ValueIteratedTo / 1000.0);
            var index = (int)Math.Floor(Math.Log10(ms) * BucketsPerDecade);
            counts[index] = counts.GetValueOrDefault(index) + v.CountAtValueIteratedTo;
        }
        var first = counts.Keys.First();
        var last = counts.Keys.Last();
        return Enumerable.Range(first, last - first + 1)
            .Select(i => new HistogramBucket(Math.Pow(10, (double)i / BucketsPerDecade), Math.Pow(10, (double)(i + 1) / BucketsPerDecade), counts.GetValueOrDefault(i)))
            .ToArray();
    }
}
