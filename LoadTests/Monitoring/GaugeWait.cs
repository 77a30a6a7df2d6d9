using System.Diagnostics;

namespace Loom.LoadTests.Monitoring;

/// <summary>How a wait for a gauge ended: whether it reached the threshold, its last reading, and how long it took.</summary>
public sealed record GaugeWaitResult(bool Reached, double? LastValue, TimeSpan Waited, int Polls);

public static class GaugeWait
{
    /// <summary>
    /// Polls <paramref name="read"/> every <paramref name="poll"/> until it is at most <paramref name="threshold"/> or
    /// <paramref name="deadline"/> passes; returns at once when the gauge cannot be read (null), since nothing will change that.
    /// </summary>
    public static async Task<GaugeWaitResult> UntilAtMostAsync(Func<CancellationToken, Task<double?>> read, double threshold, TimeSpan deadline,
        TimeSpan poll, CancellationToken ct, Action<double>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        double? last = null;
        var polls = 0;
        while (true)
        {
            last = await read(ct);
            polls++;
            if (last is null) return new GaugeWaitResult(false, null, clock.Elapsed, polls);
            progress?.Invoke(last.Value);
            if (last <= threshold) return new GaugeWaitResult(true, last, clock.Elapsed, polls);
            var left = deadline - clock.Elapsed;
            if (left <= TimeSpan.Zero) return new GaugeWaitResult(false, last, clock.Elapsed, polls);
            await Task.Delay(left < poll ? left : poll, ct);
        }
    }
}
