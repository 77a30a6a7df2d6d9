using Loom.Security;

namespace Loom.Gateway.Auth;

/// <summary>
/// One source of API keys (configuration, the database). Keys are only ever compared by their SHA-256 hex
/// (<see cref="CallerResolver.Hash"/>); a source answers null for a key it does not know, or one that is
/// revoked or expired.
/// </summary>
public interface IApiKeyLookup
{
    /// <summary>False when this source cannot hold a key of this shape: it is then not asked, which costs nothing.</summary>
    bool MayHold(string apiKey);

    ValueTask<Caller?> FindAsync(string keySha256Hex, CancellationToken cancellationToken);

    /// <summary>
    /// True, from memory alone, when this source holds the key (configuration) or has found it usable before (the
    /// database): such a key is looked up even for a client over its failed-authentication limit.
    /// </summary>
    bool IsKnown(string keySha256Hex);

    /// <summary>True when this source holds a usable key: then a request without a key is never the anonymous local user.</summary>
    ValueTask<bool> HasActiveKeysAsync(CancellationToken cancellationToken);
}
