namespace Loom.Silo.Telemetry;

/// <summary>
/// The operational surface both hosts expose, shared with the Helm chart (probe paths, scrape path, ports).
/// tests/Loom.Tests/Helm checks the chart and the Dockerfile against these.
/// </summary>
public static class OperationalEndpoints
{
    /// <summary>Process alive (liveness). Never depends on Redis/PostgreSQL, so an outage does not restart every pod.</summary>
    public const string Healthz = "/healthz";

    /// <summary>Cluster reachable (readiness; the silo's startup probe = joined the cluster).</summary>
    public const string Readyz = "/readyz";

    public const string Metrics = "/metrics";

    /// <summary>Silo HTTP port (health, readiness, metrics) in containers and by default.</summary>
    public const int SiloHttpPort = 8081;

    /// <summary>Gateway HTTP port when nothing configures one (on loopback; also launchSettings.json's).</summary>
    public const int GatewayHttpPort = 5080;

    /// <summary>Gateway HTTP port in containers.</summary>
    public const int GatewayContainerHttpPort = 8080;

    public const int SiloPort = 11111;
    public const int GatewayPort = 30000;
}
