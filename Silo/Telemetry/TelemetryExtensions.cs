using Loom.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Loom.Silo.Telemetry;

/// <summary>
/// One telemetry setup for the silo and the gateway: Prometheus metrics at /metrics always, traces over OTLP only
/// when an endpoint is configured (no listener, no span allocation on the hot path otherwise).
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>The standard OpenTelemetry variable; when set, traces (and metrics) are also pushed over OTLP.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string MetricsPath = OperationalEndpoints.Metrics;

    /// <summary>Most attribute combinations one metric keeps (beyond them OpenTelemetry reports an overflow series).</summary>
    public const string CardinalityLimitKey = "Loom:Telemetry:MetricCardinalityLimit";

    /// <summary>
    /// OpenTelemetry preallocates this many points for every exported metric stream: its default of 2,000 cost about
    /// 30 MB per process across the ~170 streams of Orleans, ASP.NET Core, HttpClient, the runtime and LOOM, whose
    /// labels (stage, status, provider, route, grain type...) take a few dozen combinations each.
    /// </summary>
    public const int DefaultCardinalityLimit = 256;

    /// <summary>Meters exported besides LOOM's own: Orleans, ASP.NET Core/Kestrel, HttpClient, the runtime (GC, CPU, memory).</summary>
    public static IReadOnlyList<string> ExportedMeters { get; } =
    [
        LoomTelemetry.MeterName,
        "Microsoft.Orleans",
        "System.Net.Http",
        Loom.Llm.LlmTelemetry.SourceName,
        Loom.Llm.LlmTelemetry.PollyMeterName,
    ];

    /// <summary>
    /// Activity sources traced: LOOM's turn pipeline, every Orleans source (grain calls), HttpClient (the LLM
    /// call) and Npgsql (grain storage and the turn journal in PostgreSQL).
    /// </summary>
    public static IReadOnlyList<string> TracedSources { get; } =
    [
        LoomTelemetry.ActivitySourceName,
        "Microsoft.Orleans.*",
        "System.Net.Http",
        "Npgsql",
        Loom.Llm.LlmTelemetry.SourceName,
    ];

    public static TBuilder AddLoomTelemetry<TBuilder>(this TBuilder builder, string serviceName)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);

        // Orleans 10.4 placement logs two Information lines per activation through Polly's category.
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        builder.Services.AddLoomMetrics();

        var cardinalityLimit = builder.Configuration.GetValue(CardinalityLimitKey, DefaultCardinalityLimit);
        if (cardinalityLimit is < 16 or > 100_000)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(CardinalityLimitKey, typeof(int),
                [$"{CardinalityLimitKey} must be between 16 and 100000 (got {cardinalityLimit})."]);
        }

        // A gateway co-hosting a silo calls this from both setups: meters are added idempotently, a view is not.
        var firstCall = builder.Properties.TryAdd(typeof(TelemetryExtensions), true);

        var otlpEndpoint = builder.Configuration[OtlpEndpointKey];
        var exportOtlp = !string.IsNullOrWhiteSpace(otlpEndpoint);

        // In Kubernetes the pod name identifies the instance; elsewhere the machine name does.
        var instanceId = builder.Configuration["Loom:Cluster:SiloName"]
            ?? builder.Configuration["POD_NAME"]
            ?? Environment.MachineName;

        // The chart passes the pod's namespace through the downward API; traces then say where they ran.
        var kubernetesNamespace = builder.Configuration["POD_NAMESPACE"];

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                resource.AddService(serviceName, serviceInstanceId: instanceId);
                if (!string.IsNullOrWhiteSpace(kubernetesNamespace))
                {
                    resource.AddAttributes([new("k8s.namespace.name", kubernetesNamespace), new("k8s.pod.name", instanceId)]);
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. ExportedMeters]);
                // Only the limit: histograms keep the bucket boundaries their instruments advise.
                if (firstCall) metrics.AddView(_ => new MetricStreamConfiguration { CardinalityLimit = cardinalityLimit });
                // Creates LoomMetrics with the meter provider, so the process gauges exist even on a host
                // (the gateway) where nothing else ever asks for it.
                metrics.AddInstrumentation(sp => sp.GetRequiredService<LoomMetrics>());
                metrics.AddAspNetCoreInstrumentation();
                metrics.AddRuntimeInstrumentation();
                metrics.AddPrometheusExporter();
                if (exportOtlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        if (exportOtlp)
        {
            otel.WithTracing(tracing =>
            {
                tracing.AddSource([.. TracedSources]);
                tracing.AddAspNetCoreInstrumentation(options =>
                {
                    // Probes and scrapes every few seconds would drown the interesting traces.
                    options.Filter = context => !IsOperationalPath(context.Request.Path);
                });
                tracing.AddOtlpExporter();
            });
        }

        return builder;
    }

    /// <summary>Maps GET /metrics (Prometheus text format). Anonymous: scrapers carry no API key.</summary>
    public static WebApplication MapLoomMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        return app;
    }

    private static bool IsOperationalPath(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments(MetricsPath) || path.StartsWithSegments(OperationalEndpoints.Healthz) || path.StartsWithSegments(OperationalEndpoints.Readyz);
}
