using System.Text.Json;
using Loom.Errors;
using Loom.Storage;
using Loom.Telemetry;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Orleans.Runtime;
using Orleans.Storage;

namespace Loom.Gateway.Http;

/// <summary>
/// Turns every failure into RFC 9457 problem+json through <see cref="ProblemJsonWriter"/>: domain problems keep their
/// status, the framework's binding and body errors are told in the client's terms, cluster trouble is 503 with
/// Retry-After, anything unexpected is a 500 that names a trace id and never a stack trace. It is both the exception
/// handler and the developer page's only filter, so in Development (the README's <c>dotnet run</c>) an error that
/// escapes the handler still answers problem+json, never the developer exception page.
/// </summary>
public sealed partial class ProblemMapping(ProblemJsonWriter writer, LoomMetrics metrics, ILogger<ProblemMapping> logger)
    : IExceptionHandler, IDeveloperPageExceptionFilter
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested) return true;

        var (problem, retryAfter) = Map(exception, context);
        if (problem.Status >= 500 && problem.Status != 503) LogUnexpected(exception, context.Request.Path);
        else if (problem.Status == 503) LogUnavailable(problem.Extensions.TryGetValue("code", out var unavailable) ? unavailable as string : null, exception.GetType().Name, context.Request.Path);
        // Server-side failures count towards loom_errors_total (and so HighErrorRate); a caller's 4xx does not.
        if (problem.Status >= 500)
        {
            metrics.Error(problem.Extensions.TryGetValue("code", out var code) && code is string text ? text : "internal_error", "gateway");
        }

        if (context.Response.HasStarted) return true;
        if (retryAfter is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await writer.WriteAsync(context, problem);
        return true;
    }

    /// <summary>Replaces the developer exception page (HTML or text with the stack trace) with the same problem+json.</summary>
    async Task IDeveloperPageExceptionFilter.HandleExceptionAsync(ErrorContext errorContext, Func<ErrorContext, Task> next)
    {
        var context = errorContext.HttpContext;
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
        }
        await TryHandleAsync(context, errorContext.Exception, context.RequestAborted);
    }

    public static (ProblemDetails Problem, int? RetryAfter) Map(Exception exception, HttpContext? context = null)
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
                return (RequestProblems.FromBadRequest(bad, EndpointOf(context), context?.RequestServices.GetService<HttpLimitsOptions>()), null);
            case JsonException json:
                return (RequestProblems.FromJson(json, EndpointOf(context)), null);
            case InconsistentStateException:
                return (Unavailable("The session was being moved between silos; retry the request."), 2);
            case Exception when StorageFaults.IsOutage(exception):
                // Silos answer Problems.StorageUnavailable from grain calls; what still arrives raw is a grain that could
                // not activate because its state could not be read (Orleans wraps the driver's error), or an embedded silo's.
                return (Unavailable("LOOM's storage is not reachable right now; nothing was saved. Retry shortly.", Problems.StorageUnavailableCode), 2);
            case OperationCanceledException:
                // Not the client's abort (handled before mapping): Orleans gave up on the call, e.g. "message expired
                // before placement could complete" while a silo stops. Nothing was acknowledged; retrying is safe.
                return (Unavailable("The LOOM cluster could not place the call in time (a silo is starting or stopping); retry shortly."), 2);
            case TimeoutException:
            case SiloUnavailableException:
            case OrleansMessageRejectionException:
            case OrleansException:
                return (Unavailable("The LOOM cluster is not reachable right now; retry shortly."), 5);
            default:
                // The writer fills title, detail and code for a 500; nothing of the exception goes out.
                return (new ProblemDetails { Status = 500, Title = "Internal error" }, null);
        }

        // The exception handler clears the endpoint before handlers run; its feature keeps the one that failed.
        static Endpoint? EndpointOf(HttpContext? context) =>
            context?.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context?.GetEndpoint();

        static ProblemDetails Unavailable(string detail, string code = "cluster_unavailable") =>
            new() { Status = 503, Title = "Service unavailable", Detail = detail, Extensions = { ["code"] = code } };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private partial void LogUnexpected(Exception ex, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service unavailable: {Code} ({Kind}) on {Path}")]
    private partial void LogUnavailable(string? code, string kind, string path);
}
