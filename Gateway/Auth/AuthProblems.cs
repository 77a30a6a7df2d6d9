using Microsoft.AspNetCore.Mvc;

namespace Loom.Gateway.Auth;

/// <summary>Writes the problem+json answers of authentication, authorization and rate limiting (401, 403, 429).</summary>
internal static class AuthProblems
{
    public static Task WriteAsync(HttpContext http, int status, string code, string title, string detail)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Extensions = { ["code"] = code, ["traceId"] = http.TraceIdentifier },
        };
        // Falls back to writing JSON itself when the problem details service declines (an Accept without JSON).
        return TypedResults.Problem(problem).ExecuteAsync(http);
    }
}
