using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Loom.Gateway.Http;

/// <summary>
/// Cross-origin access (<c>Loom:Cors</c>): off unless origins are listed (<c>Loom:Cors:Origins:0</c> = <c>https://app.example</c>).
/// A listed origin may call the API with a Bearer key (no cookies: credentials mode stays off), send JSON, an
/// Idempotency-Key and Last-Event-ID, and read Location, Retry-After and WWW-Authenticate.
/// </summary>
public sealed class CorsSettings
{
    public const string Section = "Loom:Cors";

    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    // Declared before RequestHeaders, which spreads it: static fields initialise in text order.
    private static readonly string[] OpenAiClientHeaders =
        ["X-Stainless-Arch", "X-Stainless-Lang", "X-Stainless-OS", "X-Stainless-Package-Version", "X-Stainless-Retry-Count",
            "X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Timeout"];

    public static readonly string[] RequestHeaders =
        [HeaderNames.Authorization, HeaderNames.ContentType, HeaderNames.Accept, "Idempotency-Key", "Last-Event-ID", "X-Loom-Session", "X-Loom-Session-Id",
            // What OpenAI's npm client sends on every call, in a browser too: without them its preflight fails on /v1.
            .. OpenAiClientHeaders];

    // The /v1 answer names its session, turn and action in headers a browser client must be allowed to read.
    public static readonly string[] ExposedHeaders =
        [HeaderNames.Location, HeaderNames.RetryAfter, HeaderNames.WWWAuthenticate, "X-Loom-Session", "X-Loom-Turn", "X-Loom-Action"];

    public List<string> Origins { get; set; } = [];

    /// <summary>How long a browser may cache a preflight answer.</summary>
    public int MaxAgeSeconds { get; set; } = 600;

    /// <summary>The configured origins, normalised (<c>scheme://host[:port]</c>); a wildcard or a path is a startup error.</summary>
    public static CorsSettings From(IConfiguration configuration)
    {
        var settings = configuration.GetSection(Section).Get<CorsSettings>() ?? new CorsSettings();
        settings.Origins = settings.Origins.Where(o => !string.IsNullOrWhiteSpace(o)).Select(Normalise).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return settings;
    }

    private static string Normalise(string origin)
    {
        var text = origin.Trim().TrimEnd('/');
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || text.Contains('*', StringComparison.Ordinal))
        {
            throw new OptionsValidationException(Section, typeof(CorsSettings),
                [$"{Section}:Origins holds '{origin}': each entry must be one origin such as https://app.example or http://localhost:3000 (no wildcard, no path)."]);
        }
        return uri.GetLeftPart(UriPartial.Authority);
    }
}
