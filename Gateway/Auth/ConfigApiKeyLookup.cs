using Loom.Security;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>Keys from configuration (<c>Loom:Auth:Keys</c>): the bootstrap keys, always available, never revoked at run time.</summary>
public sealed class ConfigApiKeyLookup : IApiKeyLookup
{
    private readonly Dictionary<string, Caller> _callersByHash;

    public ConfigApiKeyLookup(IOptions<AuthOptions> options) =>
        _callersByHash = options.Value.Keys
            .Where(k => !string.IsNullOrWhiteSpace(k.Sha256) && !string.IsNullOrWhiteSpace(k.Owner))
            .ToDictionary(k => k.Sha256.Trim().ToLowerInvariant(), k => new Caller
            {
                OwnerId = k.Owner.Trim(),
                Roles = (k.Roles.Count > 0 ? k.Roles : LoomRoles.DefaultForConfiguredKey).Distinct(StringComparer.Ordinal).ToArray(),
            }, StringComparer.Ordinal);

    public bool HasKeys => _callersByHash.Count > 0;

    /// <summary>Configured keys are given by their hash: any string may be one.</summary>
    public bool MayHold(string apiKey) => true;

    public ValueTask<Caller?> FindAsync(string keySha256Hex, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_callersByHash.GetValueOrDefault(keySha256Hex));

    public bool IsKnown(string keySha256Hex) => _callersByHash.ContainsKey(keySha256Hex);

    public ValueTask<bool> HasActiveKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult(HasKeys);
}
