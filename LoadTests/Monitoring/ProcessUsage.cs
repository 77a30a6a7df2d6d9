namespace Loom.LoadTests.Monitoring;

/// <summary>
/// CPU and memory of a process (or of a group, summed) over a window. <see cref="CpuPercent"/> is of one core
/// (200 % = two cores busy); <see cref="MachineCpuPercent"/> divides by the machine's cores; <see cref="CpuSeconds"/>
/// is the CPU time used in the window.
/// </summary>
public sealed record ProcessUsage(string Process, double CpuPercent, double MachineCpuPercent, double PeakRssMb, double EndRssMb, double ProcessPeakRssMb)
{
    public double CpuSeconds { get; init; } = double.NaN;
}

/// <summary>One sample of the watched processes, <see cref="Second"/> seconds into the window; lists follow the process order.</summary>
public sealed record ResourceSample(double Second, IReadOnlyList<double> CpuPercent, IReadOnlyList<double> RssMb)
{
    public double TotalCpuPercent => CpuPercent.Where(c => !double.IsNaN(c)).Sum();

    public double TotalRssMb => RssMb.Where(r => !double.IsNaN(r)).Sum();
}

/// <summary>A window over a group of processes: the sum, each process, and the samples taken in between.</summary>
public sealed record ProcessGroupUsage(ProcessUsage Total, IReadOnlyList<ProcessUsage> Each, IReadOnlyList<ResourceSample> Timeline);
