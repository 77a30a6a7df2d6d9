using Loom.Security;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>API keys (section <c>Loom:Auth</c>). Keys are stored as SHA-256 hashes, never in clear.</summary>
public sealed class AuthOptions
{
    public const string Section = "Loom:Auth";

    /// <summary>Each entry: the owner id and the hex SHA-256 of the key (create with `Loom.Gateway keys add --owner NAME`).</summary>
    public List<ApiKeyEntry> Keys { get; set; } = [];

    /// <summary>
    /// With no key configured anywhere (here or in the database) and a server on loopback addresses only, requests
    /// without a key act as this user, who holds every role (the single-user embedded mode).
    /// </summary>
    public string LocalUser { get; set; } = "local";

    public bool AllowAnonymousOnLoopback { get; set; } = true;

    /// <summary>
    /// Seconds a gateway trusts a database key lookup (an answer or "no such key") before asking the cluster again:
    /// how long a revoked key can keep working on a gateway. 0 asks on every request.
    /// </summary>
    public int KeyCacheSeconds { get; set; } = 2;
}

public sealed class ApiKeyEntry
{
    public string Owner { get; set; } = "";
    public string Sha256 { get; set; } = "";
    /// <summary>Roles of this key (admin, author, player, viewer); none configured means author + player.</summary>
    public List<string> Roles { get; set; } = [];
}

/// <summary>Refuses unusable auth settings at start-up, naming the configuration key.</summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var prefix = $"{AuthOptions.Section}:Keys:{i}";
            if (!ApiKeyRules.IsValidOwner(key.Owner?.Trim())) failures.Add($"{prefix}:Owner must be {ApiKeyRules.OwnerRule}.");
            if (!ApiKeyRules.IsSha256Hex(key.Sha256?.Trim().ToLowerInvariant()))
                failures.Add($"{prefix}:Sha256 must be the 64-character hex SHA-256 of the key ('Loom.Gateway keys hash').");
            foreach (var role in key.Roles.Where(r => !LoomRoles.IsKnown(r)))
                failures.Add($"{prefix}:Roles has unknown role '{role}' (roles: {string.Join(", ", LoomRoles.All)}).");
        }
        // One key configured twice (its hash in another case, or copied under a second index) would give the lookup two
        // entries for one hash: refused here, naming both, instead of every request failing once the gateway runs.
        var firstIndexByHash = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var hash = options.Keys[i].Sha256?.Trim().ToLowerInvariant();
            if (!ApiKeyRules.IsSha256Hex(hash)) continue; // already reported above
            if (firstIndexByHash.TryGetValue(hash!, out var first))
            {
                failures.Add($"{AuthOptions.Section}:Keys:{first}:Sha256 and {AuthOptions.Section}:Keys:{i}:Sha256 are the same key " +
                    "(hashes compare case-insensitively): configure each key once.");
            }
            else
            {
                firstIndexByHash[hash!] = i;
            }
        }
        if (!ApiKeyRules.IsValidOwner(options.LocalUser)) failures.Add($"{AuthOptions.Section}:LocalUser must be {ApiKeyRules.OwnerRule}.");
        if (options.KeyCacheSeconds is < 0 or > 60) failures.Add($"{AuthOptions.Section}:KeyCacheSeconds must be between 0 and 60 (got {options.KeyCacheSeconds}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
