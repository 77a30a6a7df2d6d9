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
        _limiter = PartitionedRateLimiter.Create<HttpContext, IPAddress>(
            http => RateLimitPartition.GetTokenBucketLimiter(ClientOf(http.Connection.RemoteIpAddress), _ => bucket));
    }

    /// <summary>
    /// Before a key is looked up in the key store: the client's token, taken up front so that guesses sent at once are
    /// looked up no more often than the client has tokens. A valid key pays once per gateway (then the gateway knows it);
    /// keys the gateway knows and keys that cannot be in the store are never counted.
    /// </summary>
    public Admission Admit(HttpContext http)
    {
        if (_limiter is null) return Admission.Exempt;
        using var lease = _limiter.AttemptAcquire(http);
        if (lease.IsAcquired) return Admission.Exempt;
        return new(false, lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? RateLimits.Seconds(wait) : 1);
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

    /// <summary><see cref="Admit"/>'s answer: refused ones wait <see cref="RetryAfterSeconds"/>.</summary>
    public readonly record struct Admission(bool Admitted, int RetryAfterSeconds)
    {
        public static Admission Exempt => new(true, 0);
    }
}
