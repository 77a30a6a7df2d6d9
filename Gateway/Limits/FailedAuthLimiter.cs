using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Limits;

/// <summary>
/// Failed API-key checks per client address (<see cref="LimitOptions.FailedAuthPerMinute"/>): one token bucket per
/// connection's remote address, never a forwarded header (the gateway configures no proxy it trusts). An IPv6 client
/// counts by its /64, which a single subscriber usually holds whole. Partitions of clients that stopped failing refill,
/// then idle out of the partitioned limiter (10 s after they are full), so memory follows the clients failing now.
/// </summary>
public sealed class FailedAuthLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext>? _limiter;
    private readonly int _perMinute;
    private readonly int _reserveBelow;

    public FailedAuthLimiter(IOptions<LimitOptions> options)
    {
        _perMinute = options.Value.FailedAuthPerMinute;
        if (_perMinute == 0) return;
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Value.FailedAuthBurst > 0 ? options.Value.FailedAuthBurst : _perMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / _perMinute,
            QueueLimit = 0,
            // The partitioned limiter's own 100 ms timer refills its partitions: no timer per client.
            AutoReplenishment = false,
        };
        _reserveBelow = (bucket.TokenLimit + 1) / 2;
        _limiter = PartitionedRateLimiter.Create<HttpContext, IPAddress>(
            http => RateLimitPartition.GetTokenBucketLimiter(ClientOf(http.Connection.RemoteIpAddress), _ => bucket));
    }

    /// <summary>
    /// Before a key check: whether the client may have one, and whether its token is already taken. A client with
    /// tokens to spare is counted only when a check fails, so valid keys spend none. One down to half its bucket takes
    /// the token first: otherwise every guess sent at once would be looked up on its last token.
    /// </summary>
    public Admission Admit(HttpContext http)
    {
        if (_limiter is null) return Admission.Exempt;
        if (_limiter.GetStatistics(http)?.CurrentAvailablePermits >= _reserveBelow) return new(true, CountsFailure: true, 0);
        using var lease = _limiter.AttemptAcquire(http);
        if (lease.IsAcquired) return new(true, CountsFailure: false, 0);
        return new(false, false, lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? RateLimits.Seconds(wait) : 1);
    }

    /// <summary>A check failed: it takes the client's token, unless <see cref="Admit"/> took it already.</summary>
    public void Failed(HttpContext http, Admission admission)
    {
        if (_limiter is null || !admission.CountsFailure) return;
        _limiter.AttemptAcquire(http).Dispose();
    }

    public string Detail(int retryAfterSeconds) =>
        $"Too many failed authentications from this address: the limit is {_perMinute} per minute. Retry after {retryAfterSeconds} s.";

    /// <summary>The partition of a remote address: IPv4 (also when mapped into IPv6), an IPv6 /64, or one shared bucket
    /// (the broadcast address, which no client connects from) for connections without an IP address (a Unix socket).</summary>
    public static IPAddress ClientOf(IPAddress? address)
    {
        if (address is null) return IPAddress.None;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return address;
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    public void Dispose() => _limiter?.Dispose();

    /// <summary><see cref="Admit"/>'s answer: refused ones wait <see cref="RetryAfterSeconds"/>; a failure of an admitted
    /// check takes a token when <see cref="CountsFailure"/> (not when it was taken up front, nor for an exempt key).</summary>
    public readonly record struct Admission(bool Admitted, bool CountsFailure, int RetryAfterSeconds)
    {
        /// <summary>A key the gateway knows: looked up whatever the client's failures, and never counted.</summary>
        public static Admission Exempt => new(true, false, 0);
    }
}
