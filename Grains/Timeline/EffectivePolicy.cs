using System.Globalization;
using Loom.Errors;

namespace Loom.Timeline;

/// <summary>
/// The policy in force: the world's canon metadata and the session's own settings combined, the stricter
/// winning (a session can narrow what its world allows, never widen it). Defaults allow everything.
/// </summary>
public sealed record EffectivePolicy(bool InterventionsAllowed, bool RetconAllowed, bool RequireJustification, int MinJustificationChars)
{
    /// <summary>Minimum reason length when justification is required and no length is configured.</summary>
    public const int DefaultMinJustificationChars = 10;

    public static EffectivePolicy Combine(IReadOnlyDictionary<string, string>? worldMetadata, InterventionPolicy? session)
    {
        var world = FromMetadata(worldMetadata);
        var interventions = (world.InterventionsAllowed ?? true) && (session?.InterventionsAllowed ?? true);
        var retcon = interventions && (world.RetconAllowed ?? true) && (session?.RetconAllowed ?? true);
        var require = (world.RequireJustification ?? false) || (session?.RequireJustification ?? false);
        var min = Math.Max(world.MinJustificationChars ?? 0, session?.MinJustificationChars ?? 0);
        if (require && min == 0) min = DefaultMinJustificationChars;
        return new EffectivePolicy(interventions, retcon, require, min);
    }

    /// <summary>Reads the policy keys from canon metadata (front matter or Meta section), case-insensitively.</summary>
    public static InterventionPolicy FromMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || metadata.Count == 0) return new InterventionPolicy();
        string? Get(string key) => metadata.FirstOrDefault(p => string.Equals(p.Key.Trim(), key, StringComparison.OrdinalIgnoreCase)).Value;
        return new InterventionPolicy
        {
            InterventionsAllowed = Flag(Get(nameof(InterventionPolicy.InterventionsAllowed))),
            RetconAllowed = Flag(Get(nameof(InterventionPolicy.RetconAllowed))),
            RequireJustification = Flag(Get(nameof(InterventionPolicy.RequireJustification))),
            MinJustificationChars = int.TryParse(Get(nameof(InterventionPolicy.MinJustificationChars))?.Trim(), NumberStyles.None,
                CultureInfo.InvariantCulture, out var n) ? n : null,
        };
    }

    /// <summary>Checks a session policy given through the API.</summary>
    public static void Validate(InterventionPolicy? policy)
    {
        if (policy?.MinJustificationChars is < 0 or > TimelineLimits.MaxReasonChars)
            throw Problems.Invalid("policy.minJustificationChars", $"minJustificationChars must be 0..{TimelineLimits.MaxReasonChars}.");
    }

    /// <summary>Null when the justification is acceptable, else why not.</summary>
    public string? JustificationProblem(string? justification)
    {
        if (!RequireJustification) return null;
        var length = (justification ?? "").Trim().Length;
        return length >= MinJustificationChars
            ? null
            : $"a justification of at least {MinJustificationChars} characters is required (got {length})";
    }

    private static bool? Flag(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => null,
    };
}
