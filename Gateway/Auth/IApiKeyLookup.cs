using Loom.Security;

namespace Loom.Gateway.Auth;

/// <summary>
/// One source of API keys (configuration, the database). Keys are only ever compared by their SHA-256 hex
/// (<see cref="CallerResolver.Hash"/>); a source answers null for a key it does not know, or one that is
/// revoked or expired.
/// </summary>
public interface IApiKeyLookup
{
    ValueTask<Caller?> FindAsync(string keySha256Hex, CancellationToken cancellationToken);

    /// <summary>True when this source holds a usable key: then a request without a key is never the anonymous local user.</summary>
    ValueTask<bool> HasActiveKeysAsync(CancellationToken cancellationToken);
}
