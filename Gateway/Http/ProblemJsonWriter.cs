using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Http;

/// <summary>
/// The one place an error answer is written: always <c>application/problem+json</c> with type, title, status, detail,
/// code and traceId, whatever the request's Accept says. The framework's own writer negotiates on Accept and gives up
/// for an EventSource (<c>text/event-stream</c>) or a browser (<c>text/html</c>); an error body must never depend on that.
/// The exception handler and status code pages call it directly; it is also the first IProblemDetailsWriter, so anything
/// that goes through IProblemDetailsService (TypedResults.Problem, the framework's fallbacks) ends here too.
/// The one exception is the OpenAI-compatible surface under <c>/v1</c>, whose clients read OpenAI's error shape.
/// </summary>
public sealed class ProblemJsonWriter(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IProblemDetailsWriter
{
    public const string ContentType = "application/problem+json";

    /// <summary>Every status the framework or Kestrel produces by itself gets a code and a detail a client can act on.</summary>
    private static readonly Dictionary<int, (string Type, string Code, string Detail)> Defaults = new()
    {
        [400] = (Rfc9110("5.1"), "malformed_request", "The request is malformed."),
        [401] = (Rfc9110("5.2"), "unauthorized", "Credentials are missing or not valid: send 'Authorization: Bearer <api-key>'."),
        [403] = (Rfc9110("5.4"), "forbidden", "The caller may not do this."),
        [404] = (Rfc9110("5.5"), "not_found", "Nothing is served on this path."),
        [405] = (Rfc9110("5.6"), "method_not_allowed", "This path does not accept this method."),
        [406] = (Rfc9110("5.7"), "not_acceptable", "No representation of this resource matches the Accept header."),
        [408] = (Rfc9110("5.9"), "request_timeout", "The request did not arrive in time."),
        [409] = (Rfc9110("5.10"), "conflict", "The request conflicts with the resource's current state."),
        [411] = (Rfc9110("5.12"), "length_required", "Send a Content-Length or a chunked body."),
        [413] = (Rfc9110("5.14"), "body_too_large", "The request body is larger than this endpoint accepts."),
        [414] = (Rfc9110("5.15"), "uri_too_long", "The request's URL is too long."),
        [415] = (Rfc9110("5.16"), "unsupported_media_type", "The body's media type is not accepted here: send application/json in UTF-8."),
        [422] = (Rfc9110("5.21"), "unprocessable", "The content is well-formed but cannot be processed."),
        [429] = ("https://tools.ietf.org/html/rfc6585#section-4", "too_many_requests", "Too many requests: wait and retry."),
        [431] = ("https://tools.ietf.org/html/rfc6585#section-5", "headers_too_large", "The request's headers are too large."),
        [500] = (Rfc9110("6.1"), "internal_error", "Something went wrong on our side. The request changed nothing you can see; it is safe to retry."),
        [501] = (Rfc9110("6.2"), "not_implemented", "This is not implemented."),
        [502] = (Rfc9110("6.3"), "bad_gateway", "An upstream service answered badly; retry shortly."),
        [503] = (Rfc9110("6.4"), "unavailable", "LOOM cannot serve this right now; retry shortly."),
        [504] = (Rfc9110("6.5"), "gateway_timeout", "An upstream service did not answer in time; retry shortly."),
    };

    /// <summary>Whatever the Accept header says: an error is never worth a second failure over negotiation.</summary>
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context) => new(WriteAsync(context.HttpContext, context.ProblemDetails));

    public Task WriteAsync(HttpContext http, ProblemDetails problem)
    {
        Complete(http, problem);
        var response = http.Response;
        response.StatusCode = problem.Status!.Value;
        if (OpenAi.OpenAiErrors.Applies(http)) return OpenAi.OpenAiErrors.WriteAsync(http, problem, json.Value);
        return response.WriteAsJsonAsync(problem, problem.GetType(), json.Value.SerializerOptions, ContentType, http.RequestAborted);
    }

    /// <summary>Fills what the producer left out from the status (framework-made answers carry only a status).</summary>
    public static void Complete(HttpContext http, ProblemDetails problem)
    {
        var status = problem.Status ??= http.Response.StatusCode is >= 400 and < 600 and var s ? s : 500;
        var known = Defaults.TryGetValue(status, out var d);
        problem.Type ??= known ? d.Type : "about:blank";
        problem.Title ??= ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
        problem.Detail ??= status == 405 && http.Response.Headers.Allow is { Count: > 0 } allow
            ? $"This path accepts {string.Join(", ", allow.ToArray())}."
            : known ? d.Detail : problem.Title + ".";
        if (!problem.Extensions.ContainsKey("code")) problem.Extensions["code"] = known ? d.Code : $"http_{status}";
        // The trace id of the request's activity, so a client's report finds the logs and the trace.
        problem.Extensions["traceId"] = Activity.Current?.Id ?? http.TraceIdentifier;
    }

    private static string Rfc9110(string section) => $"https://tools.ietf.org/html/rfc9110#section-15.{section}";
}
