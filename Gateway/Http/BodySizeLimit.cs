using System.Globalization;
using Loom.Errors;
using Microsoft.AspNetCore.Http.Features;

namespace Loom.Gateway.Http;

/// <summary>Endpoint metadata: this endpoint takes bodies up to <see cref="HttpLimitsOptions.MaxImportBodyBytes"/>.</summary>
public sealed class ImportBodyLimit
{
    public static readonly ImportBodyLimit Instance = new();

    private ImportBodyLimit() { }
}

/// <summary>
/// Refuses bodies over the limit up front from Content-Length (413), before anything is read, and sets the same
/// limit on the server for chunked bodies. The limit is <see cref="HttpLimitsOptions.MaxBodyBytes"/> unless the
/// endpoint carries <see cref="ImportBodyLimit"/>; the middleware runs after routing, so it knows the endpoint. This
/// also holds where Kestrel is not the server.
/// </summary>
public sealed class BodySizeLimit(RequestDelegate next, HttpLimitsOptions limits)
{
    public Task InvokeAsync(HttpContext context)
    {
        var limit = LimitFor(context.GetEndpoint(), limits);
        if (context.Request.ContentLength > limit) throw new LoomProblemException(413, "body_too_large", "Request body too large", TooLarge(limit));
        if (limit != limits.MaxBodyBytes && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } server)
        {
            server.MaxRequestBodySize = limit;
        }
        return next(context);
    }

    public static long LimitFor(Endpoint? endpoint, HttpLimitsOptions limits) =>
        endpoint?.Metadata.GetMetadata<ImportBodyLimit>() is null ? limits.MaxBodyBytes : limits.MaxImportBodyBytes;

    public static string TooLarge(long limit) =>
        string.Create(CultureInfo.InvariantCulture, $"The body is larger than this endpoint accepts: the limit is {limit} bytes ({limit / (1024.0 * 1024):0.##} MiB).");
}

public static class BodySizeLimitExtensions
{
    /// <summary>Lets this endpoint take bodies up to the import limit.</summary>
    public static TBuilder WithImportBodyLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ImportBodyLimit.Instance);
}
