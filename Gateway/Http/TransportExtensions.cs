namespace Loom.Gateway.Http;

public static class TransportExtensions
{
    /// <summary>Explicit Kestrel limits (no Server header), the listen backlog, and CORS when origins are configured.</summary>
    public static WebApplicationBuilder AddLoomTransport(this WebApplicationBuilder builder)
    {
        var limits = HttpLimitsOptions.From(builder.Configuration);
        builder.Services.AddSingleton(limits);
        builder.WebHost.UseSockets(s => s.Backlog = limits.ListenBacklog);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = limits.MaxBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalBytes;
            k.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
            k.Limits.MaxRequestLineSize = limits.MaxRequestLineBytes;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(limits.RequestHeadersTimeoutSeconds);
        });

        var cors = CorsSettings.From(builder.Configuration);
        builder.Services.AddSingleton(cors);
        if (cors.Origins.Count > 0)
        {
            builder.Services.AddCors(o => o.AddDefaultPolicy(p => p
                .WithOrigins([.. cors.Origins])
                .WithMethods(CorsSettings.Methods)
                .WithHeaders(CorsSettings.RequestHeaders)
                .WithExposedHeaders(CorsSettings.ExposedHeaders)
                .SetPreflightMaxAge(TimeSpan.FromSeconds(cors.MaxAgeSeconds))));
        }
        return builder;
    }

    /// <summary>First in the pipeline: every answer, errors included, carries the security headers.</summary>
    public static IApplicationBuilder UseLoomSecurityHeaders(this IApplicationBuilder app) => app.UseMiddleware<SecurityHeaders>();

    /// <summary>After routing: answers preflights and adds CORS headers for configured origins only.</summary>
    public static IApplicationBuilder UseLoomCors(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<CorsSettings>().Origins.Count > 0 ? app.UseCors() : app;
}
