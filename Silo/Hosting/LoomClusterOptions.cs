using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace Loom.Silo.Hosting;

public enum ClusterMode { Embedded, Redis }

/// <summary>Where silos record which silo hosts each grain (<see cref="LoomClusterOptions.GrainDirectory"/>).</summary>
public enum GrainDirectoryKind { Distributed, Legacy }

/// <summary>Cluster shape (section <c>Loom:Cluster</c>). Embedded is one process; redis is a real cluster.</summary>
public sealed class LoomClusterOptions : IValidatableObject
{
    public const string Section = "Loom:Cluster";

    public ClusterMode Mode { get; set; } = ClusterMode.Embedded;
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,64}$")] public string ClusterId { get; set; } = "loom";
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,64}$")] public string ServiceId { get; set; } = "loom";
    public string? RedisConnectionString { get; set; }
    [Range(1, 65535)] public int SiloPort { get; set; } = 11111;
    [Range(1, 65535)] public int GatewayPort { get; set; } = 30000;
    /// <summary>Address other silos reach this one at; falls back to POD_IP. Never a Service address.</summary>
    public string? AdvertisedAddress { get; set; }
    /// <summary>Falls back to POD_NAME, then the machine name.</summary>
    public string? SiloName { get; set; }
    /// <summary>
    /// Gateway (redis mode): the longest a call to the cluster may take before the request answers 503 with
    /// Retry-After. <c>?wait=true</c> waits are bounded separately (at most 120 s, by the grain method's own timeout).
    /// </summary>
    [Range(1, 600)] public int CallDeadlineSeconds { get; set; } = 30;
    /// <summary>
    /// Gateway (redis mode): how often the gateway re-reads which silos are active (Orleans' default is a minute). A silo
    /// that hangs without closing its connections (frozen, partitioned) keeps receiving the calls routed through it
    /// until this read drops it after its death declaration; a dropped connection is noticed at once regardless.
    /// </summary>
    [Range(1, 300)] public int GatewayListRefreshSeconds { get; set; } = 10;
    /// <summary>Budget for graceful shutdown (deactivate grains, flush state) on SIGTERM.</summary>
    [Range(1, 600)] public int ShutdownTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// A session nobody has called for this long is deactivated (its memory indexes and cached records freed; the next
    /// call loads it again). Other grains keep Orleans' default. At least 2: Orleans requires an age above its
    /// one-minute collection quantum.
    /// </summary>
    [Range(2, 1440)] public int SessionIdleMinutes { get; set; } = 5;
    /// <summary>
    /// After this many sessions deactivated on a silo that has since gone quiet, one full compacting collection gives
    /// their memory back to the OS (<see cref="IdleMemoryTrim"/>): without allocations no collection runs, and a silo
    /// kept its peak. 0 turns it off.
    /// </summary>
    [Range(0, 10_000_000)] public int IdleTrimDeactivations { get; set; } = 1000;
    /// <summary>
    /// Plays and erases a probe session on the silo's own grains before it reports ready (<see cref="GrainPathWarmup"/>):
    /// a few seconds more to start; a fresh process's first turn ~10× faster.
    /// </summary>
    public bool WarmUp { get; set; } = true;
    /// <summary>
    /// Grain locations a silo remembers (Orleans' directory cache, LRU). Orleans' default of 1,000,000 preallocates
    /// about 19 MB per silo whether or not the cluster ever has that many grains; past this size a lookup costs one
    /// directory hop, not a failure.
    /// </summary>
    [Range(0, 10_000_000)] public int DirectoryCacheSize { get; set; } = 100_000;
    /// <summary>
    /// distributed (the default in redis mode): Orleans' strongly consistent in-cluster directory (experimental in Orleans
    /// 10, the default from 11), whose ranges move to the remaining silos when one leaves; a stopping silo hands its
    /// sessions off (<see cref="Loom.Sessions.SessionHandOff"/>). legacy (the default embedded): the eventually consistent
    /// directory Orleans 10 defaults to, which deactivates every grain whose entry a leaving silo held, wherever it runs (a
    /// third of a cluster's sessions per drained silo), and with which sessions are not handed off (a session moved just
    /// before its entry's silo leaves can get a second activation). An embedded silo is a cluster of one, so none of that
    /// can happen there, and the legacy directory registers and finds its grains in process, where the distributed one
    /// makes each a call to its partition: a quarter of a session create's allocations and thread-pool work items
    /// (docs/performance.md). Every silo of a cluster must use the same.
    /// </summary>
    public GrainDirectoryKind? GrainDirectory { get; set; }

    /// <summary>The directory this silo uses: <see cref="GrainDirectory"/> when set, else the mode's default.</summary>
    public GrainDirectoryKind Directory => GrainDirectory ?? (Mode == ClusterMode.Embedded ? GrainDirectoryKind.Legacy : GrainDirectoryKind.Distributed);
    /// <summary>
    /// Redis mode: how often each silo checks that its row is still in the Redis membership table, and writes the
    /// table back if Redis lost it (<see cref="MembershipTableRepair"/>). 0 turns the check off.
    /// </summary>
    [Range(0, 300)] public int MembershipCheckSeconds { get; set; } = 2;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Mode == ClusterMode.Redis && string.IsNullOrWhiteSpace(RedisConnectionString))
        {
            yield return new ValidationResult(
                "Loom:Cluster:Mode is 'redis' but Loom:Cluster:RedisConnectionString (env Loom__Cluster__RedisConnectionString) is empty.",
                [nameof(RedisConnectionString)]);
        }
        else if (Mode == ClusterMode.Redis && Loom.Caching.RedisConnectionStrings.Fault(RedisConnectionString!) is { } fault)
        {
            // Parsed now as the clustering will parse it, so a typo is refused here, not as an Orleans start failure.
            yield return new ValidationResult(
                $"Loom:Cluster:RedisConnectionString is not a StackExchange.Redis connection string ('host:port,password=...'): {fault}",
                [nameof(RedisConnectionString)]);
        }
        if (!string.IsNullOrWhiteSpace(AdvertisedAddress) && !IPAddress.TryParse(AdvertisedAddress, out _))
        {
            yield return new ValidationResult($"Loom:Cluster:AdvertisedAddress '{AdvertisedAddress}' is not an IP address.", [nameof(AdvertisedAddress)]);
        }
    }

    public static LoomClusterOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<LoomClusterOptions>() ?? new LoomClusterOptions();
        options.AdvertisedAddress ??= Environment.GetEnvironmentVariable("POD_IP");
        options.SiloName ??= Environment.GetEnvironmentVariable("POD_NAME");
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            // Named by their configuration key ("Loom:Cluster:SessionIdleMinutes: ..."), which is what an operator sets.
            throw new OptionsValidationException(Section, typeof(LoomClusterOptions), results.Select(r =>
                r.ErrorMessage?.Contains(Section, StringComparison.Ordinal) != true && r.MemberNames.FirstOrDefault() is { } member
                    ? $"{Section}:{member}: {r.ErrorMessage}"
                    : r.ErrorMessage ?? "invalid"));
        }
        return options;
    }
}
