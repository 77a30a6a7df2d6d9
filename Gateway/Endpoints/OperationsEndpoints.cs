using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Loom.Gateway.Endpoints;

public static class OperationsEndpoints
{
    public static IEndpointRouteBuilder MapOperationsEndpoints(this IEndpointRouteBuilder app)
    {
        // Probes and scrapers carry no key. Liveness: the process answers. Readiness: the cluster answers.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).WithTags("Operations").AllowAnonymous();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).WithTags("Operations").AllowAnonymous();
        return app;
    }
}
