using System.Diagnostics;

namespace Loom.LoadTests.Monitoring;

/// <summary>A process to watch and how the report names it.</summary>
public sealed record WatchedProcess(int Pid, string Label);

/// <summary>
/// Samples a group of processes (the gateway, or every process of a cluster) every <c>interval</c> (default 1 s):
/// CPU and RSS per process for the charts, peak RSS per measurement window, and the live figures of the progress
/// line. CPU over a window comes from the tick counters at its two ends, so sampling gaps do not bias it; the peak
/// of the group is the peak of the summed samples, not the sum of each process's peak.
/// </summary>
public sealed class ProcessSampler : IAsyncDisposable
{
    private readonly IReadOnlyList<WatchedProcess> _processes;
    private readonly string _label;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Window> _windows = [];
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private ProcReading?[] _last;
    private long _lastAt;
    private double[] _liveCpu;

    public ProcessSampler(IReadOnlyList<WatchedProcess> processes, string label, TimeSpan? interval = null)
    {
        if (processes.Count == 0) throw new ArgumentException("at least one process to watch", nameof(processes));
        _processes = processes;
        _label = label;
        _last = ReadAll();
        _lastAt = Stopwatch.GetTimestamp();
        _liveCpu = _processes.Select(_ => double.NaN).ToArray();
        var period = interval ?? TimeSpan.FromSeconds(1);
        _loop = Task.Run(() => LoopAsync(period));
    }

    public ProcessSampler(int pid, string label, TimeSpan? interval = null) : this([new WatchedProcess(pid, label)], label, interval) { }

    public IReadOnlyList<WatchedProcess> Processes => _processes;

    /// <summary>CPU % (of one core) of the group over the last sampling interval; NaN when unknown.</summary>
    public double LiveCpuPercent
    {
        get { lock (_gate) return _liveCpu.All(double.IsNaN) ? double.NaN : _liveCpu.Where(c => !double.IsNaN(c)).Sum(); }
    }

    /// <summary>RSS of the group now (last sample), in MB.</summary>
    public double LiveRssMb
    {
        get { lock (_gate) return _last.All(r => r is null) ? double.NaN : _last.Sum(r => (r?.RssKb ?? 0) / 1024.0); }
    }

    /// <summary>Reads the group's RSS right now (not the last sample), in MB; NaN when no process can be read.</summary>
    public double ReadRssMbNow()
    {
        var now = ReadAll();
        return now.All(r => r is null) ? double.NaN : now.Sum(r => (r?.RssKb ?? 0) / 1024.0);
    }

    public Window BeginWindow()
    {
        var w = new Window(this, ReadAll());
        lock (_gate) _windows.Add(w);
        return w;
    }

    private ProcReading?[] ReadAll() => _processes.Select(p => ProcStat.Read(p.Pid)).ToArray();

    private async Task LoopAsync(TimeSpan interval)
    {
        try
        {
            using var timer = new PeriodicTimer(interval);
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = ReadAll();
                var at = Stopwatch.GetTimestamp();
                lock (_gate)
                {
                    var seconds = Stopwatch.GetElapsedTime(_lastAt, at).TotalSeconds;
                    // After a stall the timer can fire twice in a row: CPU ticks are 10 ms apart, so a few ms between
                    // readings would read as thousands of %. Such a reading is skipped; the next one spans both.
                    if (seconds < interval.TotalSeconds / 2) continue;
                    var cpu = new double[now.Length];
                    for (var i = 0; i < now.Length; i++)
                        cpu[i] = now[i] is { } n && _last[i] is { } prev && seconds > 0
                            ? (n.CpuTicks - prev.CpuTicks) / ProcStat.ClockTicksPerSecond / seconds * 100
                            : double.NaN;
                    _liveCpu = cpu;
                    _last = now;
                    _lastAt = at;
                    var rss = now.Select(r => r is { } x ? x.RssKb / 1024.0 : double.NaN).ToArray();
                    foreach (var w in _windows) w.Observe(at, cpu, rss);
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

    /// <summary>A measurement interval; <see cref="End"/> gives CPU over it, the highest RSS seen in it and its samples.</summary>
    public sealed class Window
    {
        private readonly ProcessSampler _owner;
        private readonly ProcReading?[] _start;
        private readonly long _startedAt = Stopwatch.GetTimestamp();
        private readonly double[] _peakRssMb;
        private readonly List<ResourceSample> _samples = [];
        private double _peakTotalRssMb;

        internal Window(ProcessSampler owner, ProcReading?[] start)
        {
            _owner = owner;
            _start = start;
            _peakRssMb = start.Select(r => (r?.RssKb ?? 0) / 1024.0).ToArray();
            _peakTotalRssMb = _peakRssMb.Sum();
        }

        internal void Observe(long at, double[] cpuPercent, double[] rssMb)
        {
            for (var i = 0; i < rssMb.Length; i++)
                if (!double.IsNaN(rssMb[i])) _peakRssMb[i] = Math.Max(_peakRssMb[i], rssMb[i]);
            var sample = new ResourceSample(Stopwatch.GetElapsedTime(_startedAt, at).TotalSeconds, cpuPercent, rssMb);
            _peakTotalRssMb = Math.Max(_peakTotalRssMb, sample.TotalRssMb);
            _samples.Add(sample);
        }

        public ProcessGroupUsage? End()
        {
            var end = _owner.ReadAll();
            var seconds = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
            List<ProcessUsage> each = [];
            ResourceSample[] samples;
            double peakTotal;
            lock (_owner._gate)
            {
                _owner._windows.Remove(this);
                for (var i = 0; i < end.Length; i++)
                    if (end[i] is { } e) _peakRssMb[i] = Math.Max(_peakRssMb[i], e.RssKb / 1024.0);
                peakTotal = Math.Max(_peakTotalRssMb, end.Sum(r => (r?.RssKb ?? 0) / 1024.0));
                samples = _samples.ToArray();
            }
            for (var i = 0; i < end.Length; i++)
            {
                if (_start[i] is not { } s || end[i] is not { } e) continue;
                var cpuSeconds = (e.CpuTicks - s.CpuTicks) / ProcStat.ClockTicksPerSecond;
                var cpu = seconds > 0 ? cpuSeconds / seconds * 100 : 0;
                each.Add(new ProcessUsage(_owner._processes[i].Label, cpu, cpu / Environment.ProcessorCount, _peakRssMb[i], e.RssKb / 1024.0, e.PeakRssKb / 1024.0)
                { CpuSeconds = cpuSeconds });
            }
            if (each.Count == 0) return null;
            var totalCpuSeconds = each.Sum(u => u.CpuSeconds);
            var totalCpu = seconds > 0 ? totalCpuSeconds / seconds * 100 : 0;
            var total = new ProcessUsage(each.Count == 1 ? each[0].Process : $"{_owner._label} ({each.Count} processes)", totalCpu,
                totalCpu / Environment.ProcessorCount, peakTotal, each.Sum(u => u.EndRssMb), each.Sum(u => u.ProcessPeakRssMb))
            { CpuSeconds = totalCpuSeconds };
            return new ProcessGroupUsage(total, each, samples);
        }
    }
}
