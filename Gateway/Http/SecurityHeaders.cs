namespace Loom.Gateway.Http;

/// <summary>
/// Browser hardening headers on every answer (the page, static files, the API reference; harmless on JSON): no MIME
/// sniffing, no framing (CSP frame-ancestors and X-Frame-Options for older browsers), no referrer, and a
/// Content-Security-Policy that allows only this origin's own files — the page (wwwroot) loads app.js and app.css and
/// talks to /api with fetch and EventSource, nothing inline, nothing from elsewhere. The API reference (Swagger UI
/// under /docs) injects style elements and uses data: images, so it gets those two allowances and nothing more.
/// Set when the response starts, so error answers written after a reset of the response carry them too.
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    public const string PagePolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public const string DocsPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = http.Request.Path.StartsWithSegments("/docs") ? DocsPolicy : PagePolicy;
            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}
