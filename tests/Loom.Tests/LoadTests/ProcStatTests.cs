using Loom.LoadTests.Monitoring;

namespace Loom.Tests.LoadTests;

[Collection(TimingCollection.Name)]
public class ProcStatTests
{
    [Fact]
    public void Cpu_ticks_are_read_after_the_last_parenthesis()
    {
        // The command name may hold spaces and ')' — fields must be counted from the last ')'.
        const string stat = "4242 (dotnet (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 350 125 0 0 20 0 30 0 100 500000 1200 18446744073709551615";

        Assert.Equal(475, ProcStat.ParseCpuTicks(stat));
        Assert.Null(ProcStat.ParseCpuTicks("garbage"));
    }

    [Fact]
    public void Memory_is_read_from_vmrss_and_vmhwm()
    {
        const string status = "Name:\tdotnet\nVmPeak:\t 3000000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t30\n";

        Assert.Equal((102400L, 204800L), ProcStat.ParseMemory(status));
    }

    [Fact]
    public async Task Sampler_reports_cpu_and_rss_of_this_process_over_a_window()
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var sampler = new ProcessSampler(Environment.ProcessId, "self", TimeSpan.FromMilliseconds(50));
        var window = sampler.BeginWindow();
        var deadline = DateTime.UtcNow.AddMilliseconds(300);
        var x = 0.0;
        while (DateTime.UtcNow < deadline) x += Math.Sqrt(x + 1); // burn some CPU

        var group = window.End();

        Assert.NotNull(group);
        var usage = group.Total;
        Assert.Equal("self", Assert.Single(group.Each).Process);
        Assert.True(usage.CpuSeconds >= 0);
        Assert.True(x > 0);
        Assert.True(usage.PeakRssMb > 10, $"rss {usage.PeakRssMb}");
        Assert.True(usage.ProcessPeakRssMb >= usage.EndRssMb);
        Assert.InRange(usage.CpuPercent, 0, 100 * Environment.ProcessorCount + 50);
        Assert.Null(ProcStat.Read(int.MaxValue));
    }
}
