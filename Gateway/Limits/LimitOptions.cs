using System.ComponentModel.DataAnnotations;

namespace Loom.Gateway.Limits;

/// <summary>
/// Request rate limits (section <c>Loom:Limits</c>), enforced per gateway process. 0 turns a limit off. The
/// anonymous local user of the loopback-only mode is never limited (it is the machine's only user, and sends no key).
/// </summary>
public sealed class LimitOptions
{
    public const string Section = "Loom:Limits";

    /// <summary>Sustained requests per second per API key (token bucket); 0 = no limit.</summary>
    [Range(0, 1_000_000)] public int RequestsPerSecond { get; set; } = 1000;

    /// <summary>Requests a key may send at once above the sustained rate (the bucket's size); 0 = RequestsPerSecond.</summary>
    [Range(0, 10_000_000)] public int RequestBurst { get; set; } = 2000;

    /// <summary>Turn submissions per minute per owner (all the owner's keys and sessions together); 0 = no limit.</summary>
    [Range(0, 1_000_000)] public int TurnsPerMinute { get; set; }

    /// <summary>
    /// Failed API-key checks per minute per client address (<see cref="FailedAuthLimiter"/>), refilled evenly; over
    /// it, requests with a key the gateway does not know are refused (429) without a look-up. 0 = no limit.
    /// </summary>
    [Range(0, 1_000_000)] public int FailedAuthPerMinute { get; set; } = 60;

    /// <summary>Failed checks a client may make at once (the bucket's size); 0 = FailedAuthPerMinute.</summary>
    [Range(0, 1_000_000)] public int FailedAuthBurst { get; set; }
}
