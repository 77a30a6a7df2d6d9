namespace Loom.Tests.Telemetry;

/// <summary>
/// Tests that read exact values from an in-process /metrics. OpenTelemetry listens to meters by name, so a meter
/// "Loom" of another host alive in the same test process (API tests start several) could answer instead: these run
/// alone, after the parallel tests. Real deployments have one host per process.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "in-process metrics";
}
