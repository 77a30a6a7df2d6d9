namespace Loom.Errors;

/// <summary>Problem codes of refused creates (HTTP 429, no Retry-After: a quota does not reset by waiting).</summary>
public static class QuotaCodes
{
    public const string Sessions = "quota_sessions";
    public const string Worlds = "quota_worlds";
    public const string Storage = "quota_storage";

    public static LoomProblemException Exceeded(string code, string detail) => new(429, code, "Quota exceeded", detail);
}
