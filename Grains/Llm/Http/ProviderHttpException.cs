using System.Net;

namespace Loom.Llm.Http;

/// <summary>
/// A provider answered with an HTTP error. Raised by <see cref="ProviderHttpHandler"/> below the SDKs that do
/// not expose the status line or Retry-After in their own exceptions (Anthropic, OllamaSharp).
/// </summary>
internal sealed class ProviderHttpException(HttpStatusCode status, string detail, TimeSpan? retryAfter)
    : HttpRequestException($"HTTP {(int)status}: {detail}", null, status)
{
    public string Detail { get; } = detail;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}
