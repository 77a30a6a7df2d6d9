using System.ClientModel;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Loom.Llm;

/// <summary>A classified provider failure; <see cref="RetryAfter"/> comes from the provider's Retry-After header.</summary>
internal sealed record LlmFailure(string Code, string Message, bool Transient, TimeSpan? RetryAfter = null)
{
    public LlmCallException ToException() => new(Code, Message, Transient, RetryAfter);
}

/// <summary>
/// Maps whatever an SDK throws to the LOOM taxonomy, so retries, fallbacks and turn errors reason about
/// codes rather than SDK types. Messages name the provider and status, never a key.
/// </summary>
internal static partial class LlmErrorClassifier
{
    public static LlmFailure Classify(Exception exception, string provider, bool streamStarted)
    {
        // Our handler below the Anthropic/Ollama SDKs knows the real status line, however the SDK wraps it.
        if (Find<Http.ProviderHttpException>(exception) is { } providerHttp)
        {
            return FromStatus((int)providerHttp.StatusCode!.Value, provider, providerHttp.Detail, providerHttp.RetryAfter);
        }

        switch (exception)
        {
            case LlmCallException call:
                return new LlmFailure(call.Code, call.Message, call.Transient, call.RetryAfter);

            case ClientResultException result when result.Status > 0:
                return FromStatus(result.Status, provider, Excerpt(result.GetRawResponse()?.Content?.ToString() ?? result.Message),
                    RetryAfterOf(result));

            case ClientResultException result when result.InnerException is { } inner:
                return Classify(inner, provider, streamStarted);

            case HttpRequestException http when http.StatusCode is { } status:
                return FromStatus((int)status, provider, Excerpt(http.Message), null);

            case HttpRequestException http when http.HttpRequestError == HttpRequestError.ResponseEnded || streamStarted:
                return new LlmFailure(LlmErrorCodes.StreamBroken, $"{provider}: the answer broke off ({Excerpt(http.Message)}).", true);

            case HttpRequestException http:
                return new LlmFailure(LlmErrorCodes.Unreachable, $"{provider}: endpoint unreachable ({Excerpt(http.Message)}).", true);

            case IOException io:
                return streamStarted
                    ? new LlmFailure(LlmErrorCodes.StreamBroken, $"{provider}: the answer broke off ({Excerpt(io.Message)}).", true)
                    : new LlmFailure(LlmErrorCodes.Unreachable, $"{provider}: connection failed ({Excerpt(io.Message)}).", true);

            case global::Anthropic.Exceptions.AnthropicApiException api:
                return FromStatus((int)api.StatusCode, provider, Excerpt(api.ResponseBody), null);

            case global::Anthropic.Exceptions.AnthropicIOException io:
                return streamStarted
                    ? new LlmFailure(LlmErrorCodes.StreamBroken, $"{provider}: the answer broke off ({Excerpt(io.Message)}).", true)
                    : new LlmFailure(LlmErrorCodes.Unreachable, $"{provider}: connection failed ({Excerpt(io.Message)}).", true);

            case global::Anthropic.Exceptions.AnthropicException anthropic when anthropic.InnerException is HttpRequestException or IOException:
                return Classify(anthropic.InnerException, provider, streamStarted);

            case global::Anthropic.Exceptions.AnthropicException anthropic:
                return new LlmFailure(LlmErrorCodes.StreamBroken, $"{provider}: the answer could not be parsed ({Excerpt(anthropic.Message)}).", true);

            case JsonException or FormatException or InvalidDataException:
                return new LlmFailure(LlmErrorCodes.StreamBroken, $"{provider}: the answer could not be parsed ({Excerpt(exception.Message)}).", true);

            case TimeoutException:
                return Timeout(provider);

            // The SDK's own network timeout (set to the request timeout) cancels the read with a TimeoutException
            // inside; the caller's cancellation never gets here. It races LOOM's per-chunk timer: either way a stall.
            case OperationCanceledException when Find<TimeoutException>(exception) is not null:
                return Timeout(provider);

            default:
                return new LlmFailure(LlmErrorCodes.Failed, $"{provider}: {exception.GetType().Name}: {Excerpt(exception.Message)}", false);
        }
    }

    private static T? Find<T>(Exception exception) where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    public static LlmFailure Timeout(string provider) =>
        new(LlmErrorCodes.Timeout, $"{provider}: no answer within the request timeout (Loom:Llm:RequestTimeout).", true);

    public static LlmFailure FromStatus(int status, string provider, string detail, TimeSpan? retryAfter) => status switch
    {
        401 or 403 => new(LlmErrorCodes.Unauthorized, $"{provider} refused the credentials (HTTP {status}): {detail}", false),
        408 => new(LlmErrorCodes.Timeout, $"{provider} timed out (HTTP 408): {detail}", true),
        429 => new(LlmErrorCodes.RateLimited, $"{provider} is rate limiting (HTTP 429): {detail}", true, retryAfter),
        >= 500 => new(LlmErrorCodes.Unavailable, $"{provider} is unavailable (HTTP {status}): {detail}", true, retryAfter),
        _ => new(LlmErrorCodes.BadRequest, $"{provider} rejected the request (HTTP {status}): {detail}", false),
    };

    /// <summary>Retry-After as seconds or an HTTP date.</summary>
    public static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds >= 0 ? TimeSpan.FromSeconds(seconds) : null;
        }

        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) && at > now
            ? at - now
            : null;
    }

    private static TimeSpan? RetryAfterOf(ClientResultException exception) =>
        exception.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var value) == true
            ? ParseRetryAfter(value, DateTimeOffset.UtcNow)
            : null;

    /// <summary>A short, single-line, secret-free excerpt of a provider's error text.</summary>
    internal static string Excerpt(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "(no details)";
        }

        var clean = Secrets().Replace(Regex.Replace(text, @"\s+", " ").Trim(), "***");
        return clean.Length <= 240 ? clean : clean[..240] + "…";
    }

    [GeneratedRegex(@"(?i)(sk-[a-z0-9_\-]{6,}|bearer\s+[a-z0-9_\-\.]{6,}|x-api-key:\s*\S+)")]
    private static partial Regex Secrets();
}
