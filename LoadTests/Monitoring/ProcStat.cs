using System.Globalization;

namespace Loom.LoadTests.Monitoring;

/// <summary>One reading of a Linux process from /proc: CPU time used so far and resident memory.</summary>
public readonly record struct ProcReading(long CpuTicks, long RssKb, long PeakRssKb);

/// <summary>Parsers for /proc/&lt;pid&gt;/stat and /proc/&lt;pid&gt;/status (kept pure so they can be tested on text).</summary>
public static class ProcStat
{
    /// <summary>Kernel USER_HZ: 100 on every mainstream Linux architecture.</summary>
    public const double ClockTicksPerSecond = 100;

    /// <summary>utime + stime (fields 14 and 15) in clock ticks. The command name may contain spaces and parentheses,
    /// so fields are counted from the LAST ')'.</summary>
    public static long? ParseCpuTicks(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0) return null;
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state); utime is field 14 → index 11, stime field 15 → index 12.
        if (fields.Length < 13) return null;
        return long.TryParse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture, out var u)
               && long.TryParse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s)
            ? u + s
            : null;
    }

    /// <summary>VmRSS and VmHWM (peak resident set) in kB from /proc/&lt;pid&gt;/status.</summary>
    public static (long RssKb, long PeakRssKb) ParseMemory(string status)
    {
        long rss = 0, hwm = 0;
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = ParseKb(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = ParseKb(line);
        }
        return (rss, Math.Max(hwm, rss));
    }

    private static long ParseKb(string line)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb : 0;
    }

    /// <summary>Reads the process now; null when it is gone or /proc is not there (not Linux).</summary>
    public static ProcReading? Read(int pid)
    {
        try
        {
            var ticks = ParseCpuTicks(File.ReadAllText($"/proc/{pid}/stat"));
            if (ticks is null) return null;
            var (rss, hwm) = ParseMemory(File.ReadAllText($"/proc/{pid}/status"));
            return new ProcReading(ticks.Value, rss, hwm);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
