namespace Loom.LoadTests.Client;

/// <summary>A non-success answer from the LOOM API, with the problem title when the body was problem+json.</summary>
public sealed class LoomApiException(int statusCode, string? title, string method, string path)
    : Exception($"{method} {path} answered {statusCode}{(title is null ? "" : ": " + title)}")
{
    public int StatusCode { get; } = statusCode;
    public string? Title { get; } = title;
}

/// <summary>A turn that did not end <c>completed</c> within the wait: still pending (202) or failed.</summary>
public sealed class TurnNotCompletedException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}

/// <summary>A success status with an answer that contradicts the contract (wrong count, invalid sample canon...).</summary>
public sealed class UnexpectedAnswerException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}
