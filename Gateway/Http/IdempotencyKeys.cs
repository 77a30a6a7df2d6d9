using Loom.Errors;

namespace Loom.Gateway.Http;

/// <summary>The optional <c>Idempotency-Key</c> header of a request that makes something (a turn, a rework).</summary>
public static class IdempotencyKeys
{
    public const string Header = "Idempotency-Key";

    /// <summary>The key, or null without one; 400 when it is not 1 to 200 visible ASCII characters.</summary>
    public static string? Read(HttpContext http)
    {
        var key = http.Request.Headers[Header].FirstOrDefault();
        if (key is not null && (key.Length is 0 or > 200 || key.Any(c => c < 0x21 || c > 0x7e)))
            throw Problems.Invalid(Header, $"{Header} must be 1 to 200 visible ASCII characters.");
        return key;
    }
}
