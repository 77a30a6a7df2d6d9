namespace Loom.Llm.Http;

/// <summary>
/// Turns provider error responses into <see cref="ProviderHttpException"/> carrying the status, a short body
/// excerpt and Retry-After, so the error taxonomy does not depend on how each SDK wraps HTTP failures.
/// </summary>
internal sealed class ProviderHttpHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var retryAfter = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } when date > DateTimeOffset.UtcNow => date - DateTimeOffset.UtcNow,
                _ => (TimeSpan?)null,
            };
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(cancellationToken);
            }
            catch (HttpRequestException)
            {
                body = "";
            }

            throw new ProviderHttpException(response.StatusCode, LlmErrorClassifier.Excerpt(body), retryAfter);
        }
    }

    /// <summary>A client for one provider: no client-level timeout (LOOM's resilience layer owns timeouts).</summary>
    public static HttpClient CreateClient(Uri? baseAddress) => new(new ProviderHttpHandler(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    }))
    {
        BaseAddress = baseAddress,
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
