using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Loom.Tests.Api;

namespace Loom.Tests.Security;

/// <summary>The gateway on Kestrel for the error matrix, shared by its cases.</summary>
public sealed class ErrorMatrixApp() : KestrelLoomApp();

/// <summary>
/// Every error answer is application/problem+json with type, title, status, detail, code and traceId, whatever the
/// Accept header says (an EventSource sends text/event-stream, a browser text/html), and nothing internal is in it:
/// the framework's own answers (404 route, 405, 415, 413), binding errors, domain problems and the SSE route alike.
/// </summary>
public sealed class ErrorAnswerTests(ErrorMatrixApp app) : IClassFixture<ErrorMatrixApp>
{
    public static readonly string?[] Accepts =
        [null, "application/json", "text/html", "text/event-stream", "text/plain", "*/*", "application/xml"];

    /// <summary>Each error kind: the request that provokes it and the status it must answer.</summary>
    private static readonly Dictionary<string, (Func<HttpRequestMessage> Request, HttpStatusCode Status)> Kinds = new()
    {
        ["unknown route"] = (() => new(HttpMethod.Get, "/api/no-such-thing"), HttpStatusCode.NotFound),
        ["wrong method"] = (() => new(HttpMethod.Delete, "/api/worlds"), HttpStatusCode.MethodNotAllowed),
        ["unsupported media type"] = (() => Post("/api/sessions", "<session/>", "text/xml"), HttpStatusCode.UnsupportedMediaType),
        ["body too large (Content-Length)"] = (() => Post("/api/sessions/s1/turns", BigTurn(), "application/json"), HttpStatusCode.RequestEntityTooLarge),
        ["body too large (chunked)"] = (() => Chunked(Post("/api/sessions/s1/turns", BigTurn(), "application/json")), HttpStatusCode.RequestEntityTooLarge),
        ["malformed JSON"] = (() => Post("/api/sessions", "{bad", "application/json"), HttpStatusCode.BadRequest),
        ["JSON value of the wrong kind"] = (() => Post("/api/sessions", """{"worldId":"ember-vale","canonVersion":"abc"}""", "application/json"), HttpStatusCode.BadRequest),
        ["binding: limit=abc"] = (() => new(HttpMethod.Get, "/api/sessions?limit=abc"), HttpStatusCode.BadRequest),
        ["binding: wait=maybe"] = (() => Post("/api/sessions/s1/turns?wait=maybe", """{"input":"hi"}""", "application/json"), HttpStatusCode.BadRequest),
        ["missing body"] = (() => Post("/api/sessions/s1/turns", "", "application/json"), HttpStatusCode.BadRequest),
        ["domain 404"] = (() => new(HttpMethod.Get, "/api/sessions/no-such-session"), HttpStatusCode.NotFound),
        ["validation 400"] = (() => Post("/api/sessions", """{"name":"no world"}""", "application/json"), HttpStatusCode.BadRequest),
        ["unknown charset"] = (() => Post("/api/sessions", """{"worldId":"ember-vale"}""", "application/json; charset=no-such-charset"), HttpStatusCode.UnsupportedMediaType),
        ["non-UTF-8 charset"] = (() => Post("/api/canon/validate", "# World\n", "text/markdown; charset=iso-8859-1"), HttpStatusCode.UnsupportedMediaType),
        ["malformed multipart"] = (() => Post("/api/worlds/import", "{}", "multipart/form-data; boundary=x"), HttpStatusCode.BadRequest),
        ["compressed body"] = (() => Gzipped(Post("/api/sessions", """{"worldId":"ember-vale"}""", "application/json")), HttpStatusCode.UnsupportedMediaType),
        ["SSE on an unknown session"] = (() => new(HttpMethod.Get, "/api/sessions/no-such-session/events"), HttpStatusCode.NotFound),
        ["SSE with a wrong API key"] = (() => new(HttpMethod.Get, "/api/sessions/s1/events") { Headers = { Authorization = new("Bearer", "not-a-key") } }, HttpStatusCode.Unauthorized),
        ["wrong API key"] = (() => new(HttpMethod.Get, "/api/sessions") { Headers = { Authorization = new("Bearer", "not-a-key") } }, HttpStatusCode.Unauthorized),
    };

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in Kinds.Keys)
            foreach (var accept in Accepts) data.Add(kind, accept ?? "(none)");
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Every_error_is_problem_json_whatever_the_Accept_header(string kind, string accept)
    {
        var (makeRequest, status) = Kinds[kind];
        using var client = app.Client();
        using var response = await SendAsync(client, () =>
        {
            var request = makeRequest();
            if (accept != "(none)") request.Headers.TryAddWithoutValidation("Accept", accept);
            return request;
        }, status);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == status, $"{kind} with Accept {accept}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        var problem = AssertProblem(response, body);
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task Binding_errors_name_the_parameter_and_the_expected_kind_in_client_terms()
    {
        using var client = app.Client();
        var limit = await Problem(client, new(HttpMethod.Get, "/api/sessions?limit=abc"));
        Assert.Equal("limit must be an integer.", limit["detail"]!.GetValue<string>());
        Assert.Equal("limit must be an integer.", limit["errors"]!["limit"]![0]!.GetValue<string>());
        Assert.Equal("validation_failed", limit["code"]!.GetValue<string>());

        var wait = await Problem(client, Post("/api/sessions/s1/turns?wait=maybe", """{"input":"hi"}""", "application/json"));
        Assert.Equal("wait must be true or false.", wait["detail"]!.GetValue<string>());

        var version = await Problem(client, Post("/api/sessions", """{"worldId":"ember-vale","canonVersion":"abc"}""", "application/json"));
        Assert.Equal("canonVersion must be an integer.", version["errors"]!["canonVersion"]![0]!.GetValue<string>());
        // Versions count from 1: a number below it is malformed (400 naming the field), not an unknown version (404).
        var zero = await Problem(client, Post("/api/sessions", """{"worldId":"ember-vale","canonVersion":0}""", "application/json"));
        Assert.Equal("canonVersion must be 1 or more.", zero["errors"]!["canonVersion"]![0]!.GetValue<string>());
        var negative = await Problem(client, new(HttpMethod.Get, "/api/worlds/ember-vale/canon?version=-3"));
        Assert.Equal("version must be 1 or more.", negative["errors"]!["version"]![0]!.GetValue<string>());
        var from = await Problem(client, new(HttpMethod.Get, "/api/worlds/ember-vale/diff?from=0&to=1"));
        Assert.Equal("from must be 1 or more.", from["errors"]!["from"]![0]!.GetValue<string>());
        var surrogate = await Problem(client, Post("/api/sessions/s1/turns", """{"input":"I say \ud800"}""", "application/json"));
        Assert.Equal("input is not valid Unicode text (it has an unpaired surrogate).", surrogate["errors"]!["input"]![0]!.GetValue<string>());
        var temperature = await Problem(client, Post("/api/sessions", """{"worldId":"ember-vale","llm":{"temperature":"hot"}}""", "application/json"));
        Assert.Equal("llm.temperature must be a number.", temperature["errors"]!["llm.temperature"]![0]!.GetValue<string>());
        var status = await Problem(client, new(HttpMethod.Patch, "/api/sessions/s1") { Content = new StringContent("""{"status":"asleep"}""", Encoding.UTF8, "application/json") });
        Assert.StartsWith("status must be one of active, paused, completed", status["errors"]!["status"]![0]!.GetValue<string>());
        var file = await Problem(client, new(HttpMethod.Put, "/api/worlds/w1") { Content = new StringContent("""{"files":{"a.md":5}}""", Encoding.UTF8, "application/json") });
        Assert.Equal("malformed_json", file["code"]!.GetValue<string>());
        Assert.Contains("must be a string", file["detail"]!.GetValue<string>());

        var tooLarge = await Problem(client, Post("/api/sessions/s1/turns", BigTurn(), "application/json"));
        Assert.Contains("2097152 bytes", tooLarge["detail"]!.GetValue<string>());
        Assert.Equal("body_too_large", tooLarge["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Framework_answers_carry_a_detail_and_a_code()
    {
        using var client = app.Client();
        var route = await Problem(client, new(HttpMethod.Get, "/api/no-such-thing"));
        Assert.Equal("not_found", route["code"]!.GetValue<string>());
        using var methodResponse = await client.SendAsync(new(HttpMethod.Delete, "/api/worlds"));
        Assert.Contains("GET", methodResponse.Content.Headers.Allow);
        var method = AssertProblem(methodResponse, await methodResponse.Content.ReadAsStringAsync());
        Assert.Equal("method_not_allowed", method["code"]!.GetValue<string>());
        Assert.Equal("This path accepts GET.", method["detail"]!.GetValue<string>());
        var media = await Problem(client, Post("/api/sessions", "<session/>", "text/xml"));
        Assert.Equal("unsupported_media_type", media["code"]!.GetValue<string>());
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.5.16", media["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kestrel_refuses_oversized_headers_and_request_lines_before_the_application_without_a_server_header()
    {
        using var client = app.Client();
        using var headers = new HttpRequestMessage(HttpMethod.Get, "/api/worlds");
        headers.Headers.TryAddWithoutValidation("X-Padding", new string('a', 40 * 1024));
        using var tooManyHeaderBytes = await client.SendAsync(headers);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, tooManyHeaderBytes.StatusCode);
        Assert.Empty(tooManyHeaderBytes.Headers.Server);

        using var longLine = await client.GetAsync("/api/worlds?pad=" + new string('a', 9 * 1024));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, longLine.StatusCode);
        Assert.Empty(longLine.Headers.Server);
    }

    /// <summary>Asserts the problem+json shape and that nothing internal (stack trace, .NET names, Server) is in the answer.</summary>
    internal static JsonNode AssertProblem(HttpResponseMessage response, string body)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("Server"), "Server header present");
        foreach (var marker in new[] { " at ", ".cs:", "Exception", "System.", "Microsoft.", "Nullable", "Loom.", "<html" })
        {
            Assert.False(body.Contains(marker, StringComparison.Ordinal), $"'{marker}' in {body}");
        }
        var problem = JsonNode.Parse(body)!;
        foreach (var field in new[] { "type", "title", "detail", "code", "traceId" })
        {
            Assert.False(string.IsNullOrWhiteSpace(problem[field]?.GetValue<string>()), $"no {field} in {body}");
        }
        Assert.Equal((int)response.StatusCode, problem["status"]!.GetValue<int>());
        return problem;
    }

    private static async Task<JsonNode> Problem(HttpClient client, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await client.SendAsync(request);
            return AssertProblem(response, await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>The request's body gzip-compressed and labelled so, as a client that compresses uploads sends it.</summary>
    private static HttpRequestMessage Gzipped(HttpRequestMessage request)
    {
        var plain = request.Content!.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        var packed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(plain);
        var content = new ByteArrayContent(packed.ToArray());
        content.Headers.ContentType = request.Content.Headers.ContentType;
        content.Headers.ContentEncoding.Add("gzip");
        request.Content = content;
        return request;
    }

    [Fact]
    public async Task A_body_with_a_content_coding_is_refused_with_the_codings_that_would_do_and_nothing_is_created()
    {
        using var client = app.Client();
        var before = await CountSessions(client);

        // A real gzip body, and a plain one that only claims a coding: the gateway reads neither as JSON.
        using var gzip = await client.SendAsync(Gzipped(Post("/api/sessions", """{"worldId":"ember-vale"}""", "application/json")));
        var labelled = Post("/api/sessions", """{"worldId":"ember-vale"}""", "application/json");
        labelled.Content!.Headers.ContentEncoding.Add("br");
        using var label = await client.SendAsync(labelled);
        foreach (var response in new[] { gzip, label })
        {
            var problem = AssertProblem(response, await response.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Equal("unsupported_content_encoding", problem["code"]!.GetValue<string>());
            Assert.Equal("identity", string.Join(",", response.Headers.GetValues("Accept-Encoding")));
        }

        // identity means no coding at all: such a body is read as usual.
        var identity = Post("/api/sessions", """{"worldId":"ember-vale"}""", "application/json");
        identity.Content!.Headers.ContentEncoding.Add("identity");
        using var created = await client.SendAsync(identity);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(before + 1, await CountSessions(client));
    }

    private static async Task<int> CountSessions(HttpClient client)
    {
        using var response = await client.GetAsync("/api/sessions?limit=200");
        response.EnsureSuccessStatusCode();
        return System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["items"]!.AsArray().Count;
    }

    private static HttpRequestMessage Post(string path, string body, string contentType)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        // A server that refuses a large body by its headers answers at once and may close before the client has sent
        // it all (a broken pipe on the client, not an answer): wait for 100-continue first, as careful clients do.
        if (body.Length > 1024 * 1024) request.Headers.ExpectContinue = true;
        return request;
    }

    /// <summary>
    /// Sends the request. A body the server refuses as too large may still be on its way when the server answers and
    /// closes the connection; the client then fails writing (broken pipe) before it reads the answer. That is HTTP/1.1's
    /// race, not the answer under test, so such a send is made again (a few times at most).
    /// </summary>
    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Func<HttpRequestMessage> make, HttpStatusCode expected)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = make();
            try
            {
                return await client.SendAsync(request);
            }
            catch (HttpRequestException e) when (expected == HttpStatusCode.RequestEntityTooLarge && e.InnerException is IOException && attempt < 5)
            {
            }
        }
    }

    private static HttpRequestMessage Chunked(HttpRequestMessage request)
    {
        request.Headers.TransferEncodingChunked = true;
        return request;
    }

    /// <summary>Valid JSON, 3 MiB: over the 2 MiB limit however it is sent.</summary>
    private static string BigTurn() => "{\"input\":\"" + new string('a', 3 * 1024 * 1024) + "\"}";
}
