using System.Diagnostics;
using Loom.Telemetry;

namespace Loom.Tests.Telemetry;

public sealed class ProcessResourcesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("loom-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Meminfo(long kb)
    {
        var path = Path.Combine(_root, "meminfo");
        File.WriteAllText(path, $"MemTotal:       {kb} kB\nMemFree:         1000 kB\n");
        return path;
    }

    [Fact]
    public void Cgroup_v2_limit_wins_over_machine_ram()
    {
        File.WriteAllText(Path.Combine(_root, "memory.max"), "536870912\n");
        Assert.Equal(536870912L, ProcessResources.ReadMemoryLimit(_root, Meminfo(16_000_000)));
    }

    [Fact]
    public void Unlimited_cgroup_falls_back_to_machine_ram()
    {
        File.WriteAllText(Path.Combine(_root, "memory.max"), "max\n");
        Assert.Equal(16_000_000L * 1024, ProcessResources.ReadMemoryLimit(_root, Meminfo(16_000_000)));
    }

    [Fact]
    public void Cgroup_v1_sentinel_means_no_limit()
    {
        Directory.CreateDirectory(Path.Combine(_root, "memory"));
        File.WriteAllText(Path.Combine(_root, "memory", "memory.limit_in_bytes"), "9223372036854771712");
        Assert.Equal(8_000_000L * 1024, ProcessResources.ReadMemoryLimit(_root, Meminfo(8_000_000)));

        File.WriteAllText(Path.Combine(_root, "memory", "memory.limit_in_bytes"), "1073741824");
        Assert.Equal(1073741824L, ProcessResources.ReadMemoryLimit(_root, Meminfo(8_000_000)));
    }

    [Fact]
    public void No_files_means_no_figure()
    {
        Assert.Null(ProcessResources.ReadMemoryLimit(_root, Path.Combine(_root, "missing")));
    }

    [Fact]
    public void Cpu_percent_is_relative_to_the_available_processors()
    {
        var cpu = TimeSpan.Zero;
        var now = 0L;
        var resources = new ProcessResources(() => cpu, () => now, processors: 2);

        // One CPU-second used in one wall second on two processors: 50 %.
        cpu = TimeSpan.FromSeconds(1);
        now += Stopwatch.Frequency;
        Assert.Equal(50, resources.CpuUsagePercent(), precision: 6);

        // A second scrape 100 ms later repeats the figure rather than measuring a tiny window.
        cpu += TimeSpan.FromSeconds(0.1);
        now += Stopwatch.Frequency / 10;
        Assert.Equal(50, resources.CpuUsagePercent(), precision: 6);

        // Idle for two seconds (the 0.1 s above is included in this window: 0.1 / (2.1 * 2)).
        now += 2 * Stopwatch.Frequency;
        Assert.Equal(100 * 0.1 / (2.1 * 2), resources.CpuUsagePercent(), precision: 6);
    }
}
