namespace Loom.LoadTests.Monitoring;

/// <summary>
/// CPU and memory of a process over a window. <see cref="CpuPercent"/> is of one core (200 % = two cores busy);
/// <see cref="MachineCpuPercent"/> divides by the machine's cores.
/// </summary>
public sealed record ProcessUsage(string Process, double CpuPercent, double MachineCpuPercent, double PeakRssMb, double EndRssMb, double ProcessPeakRssMb);
