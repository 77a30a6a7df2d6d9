using Microsoft.Extensions.Options;

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

    /// <summary>
    /// Connections the listening socket queues before the gateway accepts them. Kestrel's default, 512, dropped part of
    /// a burst of 1,000 new clients: each dropped connection waited for the client's SYN retry, a full second
    /// (docs/performance.md, session 22). Linux caps it at <c>net.core.somaxconn</c> (4096 on current kernels).
    /// </summary>
    public int ListenBacklog { get; set; } = 4096;

    /// <summary>The section's values; a value out of range refuses the start, one line per value (<see cref="OptionsValidationException"/>).</summary>
    public static HttpLimitsOptions From(IConfiguration configuration)
    {
        var limits = configuration.GetSection(Section).Get<HttpLimitsOptions>() ?? new HttpLimitsOptions();
        var failures = new List<string>();
        void Positive(long value, string name)
        {
            if (value <= 0) failures.Add($"{Section}:{name} must be positive (got {value}).");
        }
        Positive(limits.MaxBodyBytes, nameof(MaxBodyBytes));
        Positive(limits.MaxImportBodyBytes, nameof(MaxImportBodyBytes));
        Positive(limits.MaxRequestHeadersTotalBytes, nameof(MaxRequestHeadersTotalBytes));
        Positive(limits.MaxRequestHeaderCount, nameof(MaxRequestHeaderCount));
        Positive(limits.MaxRequestLineBytes, nameof(MaxRequestLineBytes));
        Positive(limits.RequestHeadersTimeoutSeconds, nameof(RequestHeadersTimeoutSeconds));
        if (limits.ListenBacklog is < 1 or > 65535)
            failures.Add($"{Section}:{nameof(ListenBacklog)} must be between 1 and 65535 (got {limits.ListenBacklog}).");
        if (failures.Count > 0) throw new OptionsValidationException(Section, typeof(HttpLimitsOptions), failures);
        return limits;
    }
}
