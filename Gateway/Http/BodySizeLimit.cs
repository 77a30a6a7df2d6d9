using Loom.Errors;

namespace Loom.Gateway.Http;

/// <summary>
/// Refuses bodies over the limit up front from Content-Length (413), before anything is read. Kestrel's own
/// MaxRequestBodySize covers chunked bodies; this also holds where Kestrel is not the server (tests, proxies).
/// </summary>
public sealed class BodySizeLimit(RequestDelegate next)
{
    public const long MaxBytes = 2 * 1024 * 1024;

    public Task InvokeAsync(HttpContext context) =>
        context.Request.ContentLength > MaxBytes
            ? throw new LoomProblemException(413, "body_too_large", "Request body too large",
                $"The body is {context.Request.ContentLength} bytes; the limit is {MaxBytes} bytes (2 MiB).")
            : next(context);
}
