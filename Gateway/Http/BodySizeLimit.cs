using Loom.Errors;
using Microsoft.AspNetCore.Http.Features;

namespace Loom.Gateway.Http;

/// <summary>An endpoint that accepts larger bodies than the default (a session import carries a whole story).</summary>
public sealed record BodyLimit(long Bytes);

/// <summary>
/// Refuses bodies over the limit up front from Content-Length (413), before anything is read, and sets the same
/// limit on the server for chunked bodies. The limit is 2 MiB unless the endpoint carries <see cref="BodyLimit"/>;
/// the middleware runs after routing, so it knows the endpoint. This also holds where Kestrel is not the server.
/// </summary>
public sealed class BodySizeLimit(RequestDelegate next)
{
    public const long MaxBytes = 2 * 1024 * 1024;

    /// <summary>Imports: a long session with its memory history exports to many megabytes.</summary>
    public const long MaxImportBytes = 64 * 1024 * 1024;

    public Task InvokeAsync(HttpContext context)
    {
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? MaxBytes;
        if (context.Request.ContentLength > limit)
        {
            throw new LoomProblemException(413, "body_too_large", "Request body too large",
                $"The body is {context.Request.ContentLength} bytes; the limit here is {limit} bytes ({limit / (1024 * 1024)} MiB).");
        }
        if (limit != MaxBytes && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } server)
        {
            server.MaxRequestBodySize = limit;
        }
        return next(context);
    }
}
