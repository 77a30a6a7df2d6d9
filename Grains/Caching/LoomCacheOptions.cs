using System.ComponentModel.DataAnnotations;

namespace Loom.Caching;

/// <summary>Section <c>Loom:Cache</c>: the two cache tiers shared by the silo's and the gateway's read paths.</summary>
public sealed class LoomCacheOptions
{
    public const string Section = "Loom:Cache";

    /// <summary>
    /// StackExchange.Redis connection string of the second tier (shared by every silo and gateway) and of the channel
    /// that tells every process to drop invalidated entries. Empty: each process keeps its own first tier only.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>Size of the in-process tier, in MiB (entries counted by their serialized size).</summary>
    [Range(1, 16384)]
    public int LocalMegabytes { get; set; } = 64;

    /// <summary>How long an immutable entry (a published canon version, an LLM answer) stays in the in-process tier.</summary>
    [Range(1, 24 * 60)]
    public int LocalMinutes { get; set; } = 30;

    /// <summary>How long an immutable entry stays in Redis.</summary>
    [Range(1, 24 * 30)]
    public int DistributedHours { get; set; } = 24;

    /// <summary>
    /// How long a read model (e.g. a caller's world list) is served from a cache. Writers invalidate it at once in
    /// every process that can hear them (its own, and all of them through Redis); this bounds what a process that did
    /// not hear it (Redis unreachable for a moment) can serve.
    /// </summary>
    [Range(1, 3600)]
    public int ReadModelSeconds { get; set; } = 60;

    /// <summary>Largest entry kept, in MiB (a big canon version is a few MiB of Markdown).</summary>
    [Range(1, 512)]
    public int MaximumEntryMegabytes { get; set; } = 16;
}
