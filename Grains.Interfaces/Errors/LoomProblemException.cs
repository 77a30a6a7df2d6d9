namespace Loom.Errors;

/// <summary>
/// A domain failure that the gateway turns into an RFC 9457 problem: grains throw it, Orleans carries it
/// to the caller, and the gateway maps <see cref="Status"/> to the HTTP status. Nothing in it is a stack trace.
/// </summary>
[GenerateSerializer, Alias("loom.LoomProblemException")]
public sealed class LoomProblemException : Exception
{
    public LoomProblemException(int status, string code, string title, string detail,
        Dictionary<string, string[]>? errors = null, int? retryAfterSeconds = null)
        : base(detail)
    {
        Status = status;
        Code = code;
        Title = title;
        Detail = detail;
        Errors = errors;
        RetryAfterSeconds = retryAfterSeconds;
    }

    [Id(0)] public int Status { get; }
    [Id(1)] public string Code { get; }
    [Id(2)] public string Title { get; }
    [Id(3)] public string Detail { get; }
    [Id(4)] public Dictionary<string, string[]>? Errors { get; }
    [Id(5)] public int? RetryAfterSeconds { get; }
}

/// <summary>Factory methods so every grain says the same thing for the same failure.</summary>
public static class Problems
{
    /// <summary>The 404 of an id that names nothing (or nothing of the caller's). The detail quotes at most
    /// <see cref="QuotedIdChars"/> characters of the id: a hostile 2,000-character "id" is not echoed whole.</summary>
    public static LoomProblemException NotFound(string what, string id) =>
        new(404, "not_found", $"{what} not found", $"No {what.ToLowerInvariant()} '{QuoteId(id)}' exists (or it is not yours).");

    /// <summary>Longest part of an id a problem's detail quotes (longer than any id LOOM mints or accepts).</summary>
    public const int QuotedIdChars = 64;

    /// <summary>An id from the client as a problem's detail quotes it: at most <see cref="QuotedIdChars"/> characters.</summary>
    public static string QuoteId(string id) => id.Length <= QuotedIdChars ? id : string.Concat(id.AsSpan(0, QuotedIdChars), "…");

    /// <summary>True for the 404 that <see cref="NotFound"/> made for <paramref name="what"/> (e.g. the session itself, not one of its turns).</summary>
    public static bool IsNotFound(this LoomProblemException problem, string what) =>
        problem.Status == 404 && problem.Title == $"{what} not found";

    /// <summary>The caller may see the session, but an explicit policy forbids the operation.</summary>
    public static LoomProblemException Forbidden(string code, string detail) =>
        new(403, code, "Forbidden by policy", detail);

    /// <summary>The caller may see the resource but their owner id or roles do not allow this (code <c>forbidden</c>).</summary>
    public static LoomProblemException NotPermitted(string detail) =>
        new(403, "forbidden", "Forbidden", detail);

    /// <summary>A submission reached its grain after the deadline its gateway stamped: its client was told 503 long ago and
    /// retried, so acting on this copy could play the input twice. Nothing was done.</summary>
    private static LoomProblemException SubmitExpired() =>
        new(503, "submit_expired", "Service unavailable", "The submission arrived after its deadline and was not queued; send it again.",
            retryAfterSeconds: 1);

    /// <summary>Throws <see cref="SubmitExpired"/> when the gateway's deadline <paramref name="notAfter"/> has passed.</summary>
    public static void ThrowIfSubmitExpired(DateTime? notAfter)
    {
        if (notAfter is { } deadline && DateTime.UtcNow > deadline) throw SubmitExpired();
    }

    /// <summary>An Idempotency-Key already used for a different request of the same session: a client bug, not a retry.
    /// Answering the first request's result would silently drop this one (the IETF idempotency-key draft: 422).</summary>
    public static LoomProblemException IdempotencyKeyReused() =>
        new(422, "idempotency_key_reused", "Unprocessable content",
            "This Idempotency-Key was already used for a different request on this session; use a new key for a new request.");

    public static LoomProblemException Conflict(string code, string detail) =>
        new(409, code, "Conflict", detail);

    public static LoomProblemException Invalid(string field, string message) =>
        new(400, "validation_failed", "Invalid request", message,
            new Dictionary<string, string[]> { [field] = [message] });

    public static LoomProblemException Unprocessable(string code, string detail, Dictionary<string, string[]>? errors = null) =>
        new(422, code, "Unprocessable content", detail, errors);

    public static LoomProblemException TooMany(string code, string detail, int retryAfterSeconds) =>
        new(429, code, "Too many requests", detail, retryAfterSeconds: retryAfterSeconds);

    /// <summary>The cluster is up but its database is not reachable. Nothing of the request was stored, so retrying is safe.</summary>
    public static LoomProblemException StorageUnavailable() =>
        new(503, StorageUnavailableCode, "Service unavailable",
            "LOOM's storage is not reachable right now; nothing was saved. Retry shortly.", retryAfterSeconds: 2);

    /// <summary>Problem code of <see cref="StorageUnavailable"/> (distinct from the gateway's <c>cluster_unavailable</c>).</summary>
    public const string StorageUnavailableCode = "storage_unavailable";
}
