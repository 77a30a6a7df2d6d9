using HdrHistogram;

namespace Loom.LoadTests.Core;

/// <summary>Latency histogram and outcome tallies of one named step. Thread-safe.</summary>
public sealed class StepStats
{
    // Microsecond resolution up to an hour keeps three significant digits at a few hundred KB per step.
    private const long HighestTrackableMicros = 3_600_000_000L;

    private readonly LongHistogram _ok = new(HighestTrackableMicros, 3);
    private readonly Dictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _fail;
    private long _notAvailable;

    public StepStats(string name) => Name = name;

    public string Name { get; }

    public long OkCount { get { lock (_gate) return _ok.TotalCount; } }

    public long FailCount { get { lock (_gate) return _fail; } }

    public void RecordOk(TimeSpan latency)
    {
        var micros = Math.Clamp(latency.Ticks / 10, 1, HighestTrackableMicros);
        lock (_gate) _ok.RecordValue(micros);
    }

    public void RecordFail(string kind)
    {
        lock (_gate)
        {
            _fail++;
            _errors[kind] = _errors.GetValueOrDefault(kind) + 1;
        }
    }

    public void RecordNotAvailable()
    {
        lock (_gate) _notAvailable++;
    }

    /// <summary>Current p95 in ms (NaN before the first success), for the progress line.</summary>
    public double CurrentP95Ms()
    {
        lock (_gate) return _ok.TotalCount == 0 ? double.NaN : _ok.GetValueAtPercentile(95) / 1000.0;
    }

    public StepSummary Summarise(TimeSpan elapsed)
    {
        lock (_gate)
        {
            var ok = _ok.TotalCount;
            double P(double p) => ok == 0 ? double.NaN : _ok.GetValueAtPercentile(p) / 1000.0;
            return new StepSummary(
                Name,
                ok + _fail + _notAvailable,
                ok,
                _fail,
                _notAvailable,
                ok == 0 ? double.NaN : _ok.GetMean() / 1000.0,
                P(50), P(75), P(95), P(99),
                ok == 0 ? double.NaN : _ok.GetMaxValue() / 1000.0,
                elapsed.TotalSeconds,
                new SortedDictionary<string, long>(_errors, StringComparer.Ordinal));
        }
    }
}
