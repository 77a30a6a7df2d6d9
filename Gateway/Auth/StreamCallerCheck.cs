namespace Loom.Gateway.Auth;

/// <summary>
/// Keeps checking, while a long-lived stream stays open, that the key it was opened with still stands: a revoked or
/// expired key must stop receiving a session's events, not only be refused on its next request. Asked before anything
/// but a heartbeat is sent (a heartbeat tells nothing), at most once a second; the key sources cache about as long.
/// A request without a key stays the local user only while no key exists.
/// </summary>
public sealed class StreamCallerCheck(CallerResolver callers, HttpContext http)
{
    private const long EveryMilliseconds = 1000;
    private long _due;

    public async ValueTask<bool> StillValidAsync(CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (now < _due) return true;
        var current = http.Items[ApiKeyAuthenticationHandler.KeyHashItem] is string hash
            ? await callers.RecheckAsync(hash, cancellationToken)
            : await callers.LocalUserAsync(cancellationToken);
        if (!string.Equals(current?.OwnerId, http.GetCaller().OwnerId, StringComparison.Ordinal)) return false;
        _due = now + EveryMilliseconds;
        return true;
    }
}
