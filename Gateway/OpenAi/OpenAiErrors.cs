using Microsoft.AspNetCore.Mvc;

namespace Loom.Gateway.OpenAi;

/// <summary>
/// Under <c>/v1</c> errors speak OpenAI's shape, because OpenAI SDKs and front ends read <c>error.message</c> and
/// <c>error.code</c> and nothing else; everywhere else LOOM keeps problem+json. The status, the code and the message are the
/// same ones the problem would carry (<see cref="Http.ProblemJsonWriter"/> routes every error answer through here).
/// </summary>
public static class OpenAiErrors
{
    public static bool Applies(HttpContext http) => http.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal);

    public static OpenAiError From(ProblemDetails problem)
    {
        var status = problem.Status ?? 500;
        var code = problem.Extensions.TryGetValue("code", out var c) ? c?.ToString() : null;
        var param = problem is HttpValidationProblemDetails { Errors.Count: > 0 } validation ? validation.Errors.Keys.First() : null;
        return new OpenAiError(new OpenAiErrorBody(problem.Detail ?? problem.Title ?? "Error", TypeOf(status), param, code));
    }

    public static Task WriteAsync(HttpContext http, ProblemDetails problem, Microsoft.AspNetCore.Http.Json.JsonOptions json)
    {
        // OpenAI's SDKs resend on 409 and every 5xx, twice by default. A conflict stays a conflict, and a 502 is a turn the
        // narrator failed after LOOM's own retries: each resend would only fail another turn. The SDKs honour this header.
        if (problem.Status is 409 or 502) http.Response.Headers["x-should-retry"] = "false";
        return http.Response.WriteAsJsonAsync(From(problem), json.SerializerOptions, "application/json", http.RequestAborted);
    }

    /// <summary>OpenAI's error types by status.</summary>
    private static string TypeOf(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
