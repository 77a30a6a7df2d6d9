namespace Loom.Gateway.Http;

/// <summary>
/// Request size limits (<c>Loom:Http:Limits</c>), explicit so operators see and tune them in one place. Bodies are
/// checked by <see cref="BodySizeLimit"/> (413 problem); the header and request-line limits are Kestrel's, which
/// refuses such a request before the application sees it (431/414/400, empty body).
/// </summary>
public sealed class HttpLimitsOptions
{
    public const string Section = "Loom:Http:Limits";

    /// <summary>Every body except imports.</summary>
    public long MaxBodyBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Session imports: a long story with its memory history exports to many megabytes.</summary>
    public long MaxImportBodyBytes { get; set; } = 64 * 1024 * 1024;

    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    public int MaxRequestHeaderCount { get; set; } = 100;

    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>How long a client may take to send its request headers (slow-loris guard).</summary>
    public int RequestHeadersTimeoutSeconds { get; set; } = 30;

    public static HttpLimitsOptions From(IConfiguration configuration)
    {
        var limits = configuration.GetSection(Section).Get<HttpLimitsOptions>() ?? new HttpLimitsOptions();
        if (limits.MaxBodyBytes <= 0 || limits.MaxImportBodyBytes <= 0 || limits.MaxRequestHeadersTotalBytes <= 0
            || limits.MaxRequestHeaderCount <= 0 || limits.MaxRequestLineBytes <= 0 || limits.RequestHeadersTimeoutSeconds <= 0)
        {
            throw new InvalidOperationException($"Every value under {Section} must be positive.");
        }
        return limits;
    }
}
