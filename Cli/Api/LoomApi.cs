using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using Loom.Cli.Config;

namespace Loom.Cli.Api;

/// <summary>An answer decoded for display, with the server's JSON kept for <c>--json</c>.</summary>
public sealed record ApiResult<T>(T Value, string Json);

/// <summary>
/// The gateway's public REST API over one <see cref="HttpClient"/>. Every non-success answer becomes an
/// <see cref="ApiProblem"/> carrying the server's problem details; a gateway that cannot be reached becomes a
/// <see cref="CliException"/> with <see cref="ExitCodes.Unreachable"/>.
/// </summary>
public sealed class LoomApi : IDisposable
{
    private readonly HttpClient _http;

    public LoomApi(Connection connection)
    {
        Connection = connection;
        // No overall timeout: the event stream stays open for as long as play runs; each call passes its own token.
        _http = new HttpClient { BaseAddress = connection.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("loom-cli", typeof(LoomApi).Assembly.GetName().Version?.ToString(3)));
        if (!string.IsNullOrEmpty(connection.ApiKey))
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.ApiKey);
    }

    public Connection Connection { get; }

    public Task<ApiResult<T>> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, path, null, type, ct);

    public Task<ApiResult<T>> SendAsync<TBody, T>(HttpMethod method, string path, TBody body, JsonTypeInfo<TBody> bodyType,
        JsonTypeInfo<T> type, CancellationToken ct, IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        SendAsync(method, path, JsonContent.Create(body, bodyType), type, ct, headers);

    public async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type,
        CancellationToken ct, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var response = await SendRawAsync(method, path, content, ct, headers);
        var json = await response.Content.ReadAsStringAsync(ct);
        var value = System.Text.Json.JsonSerializer.Deserialize(json, type)
            ?? throw new CliException(ExitCodes.Server, $"The gateway answered {path} with an empty body.");
        return new ApiResult<T>(value, json);
    }

    /// <summary>A request whose answer has no body worth decoding (204), or whose bytes are the answer (exports).</summary>
    public async Task<byte[]> SendForBytesAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var response = await SendRawAsync(method, path, content, ct);
        return await response.Content.ReadAsByteArrayAsync(ct);
    }

    /// <summary>The session's server-sent events, open once the server has answered (its first line is a comment).</summary>
    public async Task<HttpResponseMessage> OpenEventsAsync(string sessionId, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"api/sessions/{Uri.EscapeDataString(sessionId)}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct,
        IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        foreach (var (name, value) in headers ?? []) request.Headers.TryAddWithoutValidation(name, value);
        return await SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            using (request)
            {
                response = await _http.SendAsync(request, completion, ct);
            }
        }
        catch (HttpRequestException e)
        {
            throw new CliException(ExitCodes.Unreachable, $"Cannot reach the LOOM gateway at {Connection.BaseAddress}: {e.Message}");
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            throw ApiProblem.From(response.StatusCode, response.ReasonPhrase, body);
        }
    }

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public static bool IsNotFound(ApiProblem problem) => problem.Status == (int)HttpStatusCode.NotFound;

    public void Dispose() => _http.Dispose();
}
