using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Loom.Gateway.Auth;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Limits;

/// <summary>
/// ASP.NET Core rate limiting: every authenticated request takes a token from its key's bucket; turn submissions
/// also from the owner's turns-per-minute bucket (<see cref="LoomPolicies.Turns"/>). Failed authentications are
/// limited per client address before that, by the authentication handler (<see cref="FailedAuthLimiter"/>). Over a
/// limit: 429 problem+json with code <c>rate_limited</c> and <c>Retry-After</c>.
/// </summary>
public static class RateLimits
{
    public static IServiceCollection AddLoomRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LimitOptions>().Bind(configuration.GetSection(LimitOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<FailedAuthLimiter>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = OnRejectedAsync;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(PerKey);
            o.AddPolicy(LoomPolicies.Turns, PerOwnerTurns);
        });
        return services;
    }

    private static RateLimitPartition<string> PerKey(HttpContext context)
    {
        var limits = Limits(context);
        var key = context.User.FindFirst(ApiKeyAuthenticationHandler.KeyClaim)?.Value;
        // Anonymous requests reach only anonymous endpoints (health, metrics, docs) or are refused before this runs.
        if (key is null || key == ApiKeyAuthenticationHandler.LocalKey || limits.RequestsPerSecond == 0)
            return RateLimitPartition.GetNoLimiter("unlimited");
        return RateLimitPartition.GetTokenBucketLimiter("key:" + key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.RequestBurst > 0 ? limits.RequestBurst : limits.RequestsPerSecond,
            TokensPerPeriod = limits.RequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static RateLimitPartition<string> PerOwnerTurns(HttpContext context)
    {
        var limits = Limits(context);
        var key = context.User.FindFirst(ApiKeyAuthenticationHandler.KeyClaim)?.Value;
        var owner = context.User.FindFirst(ClaimTypes.Name)?.Value;
        if (owner is null || key == ApiKeyAuthenticationHandler.LocalKey || limits.TurnsPerMinute == 0)
            return RateLimitPartition.GetNoLimiter("unlimited");
        // A minute's worth of turns at once, refilled evenly: one turn every 60/N seconds.
        return RateLimitPartition.GetTokenBucketLimiter("owner:" + owner, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.TurnsPerMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / limits.TurnsPerMinute,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static LimitOptions Limits(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<LimitOptions>>().Value;

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Seconds(retryAfter) : 1;
        var http = rejected.HttpContext;
        var limits = Limits(http);
        var rules = new List<string>();
        if (limits.RequestsPerSecond > 0) rules.Add($"{limits.RequestsPerSecond} requests per second per API key");
        if (limits.TurnsPerMinute > 0 && http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName == LoomPolicies.Turns)
            rules.Add($"{limits.TurnsPerMinute} turns per minute per owner");
        await WriteRejectedAsync(http, seconds, $"Too many requests: the limits are {string.Join(" and ", rules)}. Retry after {seconds} s.");
    }

    /// <summary>Whole seconds to wait, at least 1 (Retry-After has no fractions, and 0 would invite an instant retry).</summary>
    public static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));

    /// <summary>Every 429 of a limit here: problem+json, code <c>rate_limited</c>, <c>Retry-After</c>.</summary>
    public static Task WriteRejectedAsync(HttpContext http, int retryAfterSeconds, string detail)
    {
        http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return AuthProblems.WriteAsync(http, StatusCodes.Status429TooManyRequests, "rate_limited", "Too many requests", detail);
    }
}
