using Loom.Gateway.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Loom.Gateway.Endpoints;

public static class OperationsEndpoints
{
    public static IEndpointRouteBuilder MapOperationsEndpoints(this IEndpointRouteBuilder app)
    {
        // Probes and scrapers carry no key. Liveness: the process answers. Readiness: the cluster answers.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).WithTags("Operations").AllowAnonymous();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteReadinessAsync })
            .WithTags("Operations").AllowAnonymous();
        return app;
    }

    /// <summary>Ready: the plain word probes expect. Not ready: a 503 problem with Retry-After, as every other 503.</summary>
    private static Task WriteReadinessAsync(HttpContext http, HealthReport report)
    {
        if (report.Status != HealthStatus.Unhealthy)
        {
            http.Response.ContentType = "text/plain";
            return http.Response.WriteAsync(report.Status.ToString());
        }
        http.Response.Headers.RetryAfter = "5";
        return http.RequestServices.GetRequiredService<ProblemJsonWriter>().WriteAsync(http, new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "Not ready",
            Detail = "The gateway cannot reach the cluster yet; retry shortly.",
            Extensions = { ["code"] = "not_ready" },
        });
    }
}
