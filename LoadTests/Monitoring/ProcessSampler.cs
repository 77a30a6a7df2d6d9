using System.Diagnostics;

namespace Loom.LoadTests.Monitoring;

/// <summary>
/// Samples one process every <c>interval</c> to track peak RSS per measurement window and the live CPU % shown
/// on the progress line. CPU over a window comes from the tick counters at its two ends, so sampling gaps do not bias it.
/// </summary>
public sealed class ProcessSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly string _label;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Window> _windows = [];
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private ProcReading? _last;
    private long _lastAt;
    private double _liveCpu = double.NaN;

    public ProcessSampler(int pid, string label, TimeSpan? interval = null)
    {
        _pid = pid;
        _label = label;
        _interval = interval ?? TimeSpan.FromMilliseconds(500);
        _last = ProcStat.Read(pid);
        _lastAt = Stopwatch.GetTimestamp();
        _loop = Task.Run(LoopAsync);
    }

    public int ProcessId => _pid;

    /// <summary>CPU % (of one core) over the last sampling interval; NaN when unknown.</summary>
    public double LiveCpuPercent { get { lock (_gate) return _liveCpu; } }

    public double LiveRssMb { get { lock (_gate) return _last is { } r ? r.RssKb / 1024.0 : double.NaN; } }

    public Window BeginWindow()
    {
        var w = new Window(this, ProcStat.Read(_pid));
        lock (_gate) _windows.Add(w);
        return w;
    }

    private async Task LoopAsync()
    {
        try
        {
            using var timer = new PeriodicTimer(_interval);
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = ProcStat.Read(_pid);
                var at = Stopwatch.GetTimestamp();
                lock (_gate)
                {
                    if (now is { } n && _last is { } prev)
                    {
                        var seconds = Stopwatch.GetElapsedTime(_lastAt, at).TotalSeconds;
                        _liveCpu = seconds > 0 ? (n.CpuTicks - prev.CpuTicks) / ProcStat.ClockTicksPerSecond / seconds * 100 : double.NaN;
                    }
                    _last = now;
                    _lastAt = at;
                    if (now is { } r)
                        foreach (var w in _windows) w.Observe(r.RssKb);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    /// <summary>A measurement interval; <see cref="End"/> gives CPU over it and the highest RSS seen in it.</summary>
    public sealed class Window
    {
        private readonly ProcessSampler _owner;
        private readonly ProcReading? _start;
        private readonly long _startedAt = Stopwatch.GetTimestamp();
        private long _peakRssKb;

        internal Window(ProcessSampler owner, ProcReading? start)
        {
            _owner = owner;
            _start = start;
            _peakRssKb = start?.RssKb ?? 0;
        }

        internal void Observe(long rssKb) => _peakRssKb = Math.Max(_peakRssKb, rssKb);

        public ProcessUsage? End()
        {
            var end = ProcStat.Read(_owner._pid);
            lock (_owner._gate) _owner._windows.Remove(this);
            if (_start is not { } s || end is not { } e) return null;
            Observe(e.RssKb);
            var seconds = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
            var cpu = seconds > 0 ? (e.CpuTicks - s.CpuTicks) / ProcStat.ClockTicksPerSecond / seconds * 100 : 0;
            return new ProcessUsage(_owner._label, cpu, cpu / Environment.ProcessorCount, _peakRssKb / 1024.0, e.RssKb / 1024.0, e.PeakRssKb / 1024.0);
        }
    }
}
