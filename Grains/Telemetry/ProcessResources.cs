using System.Diagnostics;
using System.Globalization;

namespace Loom.Telemetry;

/// <summary>
/// The process figures behind loom_memory_usage_bytes, loom_memory_limit_bytes and loom_cpu_usage_percent.
/// The limit is the container's (cgroup) when one is set, so the memory alert means "close to being OOM-killed".
/// </summary>
internal sealed class ProcessResources
{
    private readonly Lock _cpuLock = new();
    private readonly Func<TimeSpan> _cpuTime;
    private readonly Func<long> _now;
    private readonly int _processors;
    private TimeSpan _lastCpu;
    private long _lastTimestamp;
    private double _lastPercent;

    public ProcessResources()
        : this(() => Environment.CpuUsage.TotalTime, Stopwatch.GetTimestamp, Environment.ProcessorCount)
    {
    }

    internal ProcessResources(Func<TimeSpan> cpuTime, Func<long> now, int processors)
    {
        _cpuTime = cpuTime;
        _now = now;
        _processors = Math.Max(1, processors);
        _lastCpu = cpuTime();
        _lastTimestamp = now();
        MemoryLimitBytes = ReadMemoryLimit("/sys/fs/cgroup", "/proc/meminfo")
            ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>Resident set size of this process.</summary>
    public static long MemoryUsageBytes => Environment.WorkingSet;

    public long MemoryLimitBytes { get; }

    /// <summary>
    /// CPU used since the previous call, as a percentage of the CPUs this process may use (0..100; .NET's
    /// ProcessorCount already honours a container CPU limit). Calls less than half a second apart (several
    /// scrapers at once) repeat the last figure instead of measuring noise.
    /// </summary>
    public double CpuUsagePercent()
    {
        lock (_cpuLock)
        {
            var now = _now();
            var elapsed = Stopwatch.GetElapsedTime(_lastTimestamp, now);
            if (elapsed < TimeSpan.FromMilliseconds(500))
            {
                return _lastPercent;
            }

            var cpu = _cpuTime();
            var used = (cpu - _lastCpu).TotalSeconds;
            _lastCpu = cpu;
            _lastTimestamp = now;
            _lastPercent = Math.Clamp(100.0 * used / (elapsed.TotalSeconds * _processors), 0, 100);
            return _lastPercent;
        }
    }

    /// <summary>
    /// cgroup v2 <c>memory.max</c>, else cgroup v1 <c>memory/memory.limit_in_bytes</c>, else MemTotal from
    /// <paramref name="meminfoPath"/>; null when none can be read. "max" and v1's huge sentinel mean "no limit".
    /// </summary>
    internal static long? ReadMemoryLimit(string cgroupRoot, string meminfoPath)
    {
        var total = ReadMemTotal(meminfoPath);
        foreach (var file in new[] { Path.Combine(cgroupRoot, "memory.max"), Path.Combine(cgroupRoot, "memory", "memory.limit_in_bytes") })
        {
            var text = TryRead(file);
            if (text is null || text == "max")
            {
                continue;
            }

            // cgroup v1 reports "no limit" as a number near long.MaxValue: anything above the machine's RAM is no limit.
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0
                && (total is null || limit < total))
            {
                return limit;
            }
        }

        return total;
    }

    private static long? ReadMemTotal(string meminfoPath)
    {
        var text = TryRead(meminfoPath);
        if (text is null)
        {
            return null;
        }

        // "MemTotal:       16318412 kB"
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
            {
                return kb * 1024;
            }
        }

        return null;
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
