using System.Text.Json;
using Loom.Errors;
using Loom.Telemetry;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Orleans.Runtime;
using Orleans.Storage;

namespace Loom.Gateway.Http;

/// <summary>
/// Turns every failure into RFC 9457 problem+json: domain problems keep their status, cluster trouble is 503
/// with Retry-After, anything unexpected is a 500 that names a trace id and never a stack trace.
/// </summary>
public sealed partial class ProblemMapping(IProblemDetailsService problems, LoomMetrics metrics, ILogger<ProblemMapping> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested) return true;

        var (problem, retryAfter) = Map(exception);
        if (problem.Status >= 500 && problem.Status != 503) LogUnexpected(exception, context.Request.Path);
        else if (problem.Status == 503) LogUnavailable(exception.GetType().Name, context.Request.Path);
        // Server-side failures count towards loom_errors_total (and so HighErrorRate); a caller's 4xx does not.
        if (problem.Status >= 500)
        {
            metrics.Error(problem.Extensions.TryGetValue("code", out var code) && code is string text ? text : "internal_error", "gateway");
        }

        if (context.Response.HasStarted) return true;
        context.Response.StatusCode = problem.Status!.Value;
        if (retryAfter is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        problem.Extensions["traceId"] = context.TraceIdentifier;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    public static (ProblemDetails Problem, int? RetryAfter) Map(Exception exception)
    {
        switch (exception)
        {
            case LoomProblemException p:
            {
                var problem = p.Errors is { Count: > 0 }
                    ? new HttpValidationProblemDetails(p.Errors) { Status = p.Status, Title = p.Title, Detail = p.Detail }
                    : new ProblemDetails { Status = p.Status, Title = p.Title, Detail = p.Detail };
                problem.Extensions["code"] = p.Code;
                return (problem, p.RetryAfterSeconds);
            }
            case BadHttpRequestException bad:
            {
                // Say what is wrong with the body in the client's terms, not the framework's parameter binding.
                var detail = bad.InnerException is JsonException json
                    ? $"The body is not valid JSON for this request: {json.Message}"
                    : bad.Message.Contains("no body was provided", StringComparison.Ordinal)
                        ? "A JSON body is required."
                        : bad.Message;
                var status = bad.StatusCode;
                var title = status switch
                {
                    413 => "Request body too large",
                    415 => "Unsupported media type",
                    _ => "Malformed request",
                };
                var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
                problem.Extensions["code"] = status switch { 413 => "body_too_large", 415 => "unsupported_media_type", _ => "malformed_request" };
                return (problem, null);
            }
            case JsonException json:
                return (new ProblemDetails { Status = 400, Title = "Malformed request", Detail = json.Message, Extensions = { ["code"] = "malformed_json" } }, null);
            case InconsistentStateException:
                return (Unavailable("The session was being moved between silos; retry the request."), 2);
            case System.Data.Common.DbException:
                // The database behind grain state is failing over or restarting; nothing was acknowledged.
                return (Unavailable("LOOM's storage is not reachable right now; retry shortly."), 2);
            case TimeoutException:
            case SiloUnavailableException:
            case OrleansMessageRejectionException:
            case OrleansException:
                return (Unavailable("The LOOM cluster is not reachable right now; retry shortly."), 5);
            default:
                return (new ProblemDetails
                {
                    Status = 500,
                    Title = "Internal error",
                    Detail = "Something went wrong on our side. The request changed nothing you can see; it is safe to retry.",
                    Extensions = { ["code"] = "internal_error" },
                }, null);
        }

        static ProblemDetails Unavailable(string detail) =>
            new() { Status = 503, Title = "Service unavailable", Detail = detail, Extensions = { ["code"] = "cluster_unavailable" } };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private partial void LogUnexpected(Exception ex, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster unavailable ({Kind}) on {Path}")]
    private partial void LogUnavailable(string kind, string path);
}
