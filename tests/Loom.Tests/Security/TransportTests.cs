using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Loom.Gateway.Http;
using Microsoft.Extensions.Configuration;

namespace Loom.Tests.Security;

/// <summary>Security headers on the page and everything else, CORS off unless origins are configured, configurable limits.</summary>
public sealed class TransportTests(ErrorMatrixApp app) : IClassFixture<ErrorMatrixApp>
{
    private const string Origin = "https://play.example";

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/app.js")]
    [InlineData("/app.css")]
    [InlineData("/api/worlds")]
    [InlineData("/api/no-such-thing")]
    public async Task The_page_static_files_and_API_answers_carry_the_security_headers(string path)
    {
        using var client = app.Client();
        using var response = await client.GetAsync(path);
        AssertSecurityHeaders(response);
        var csp = Csp(response);
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("object-src 'none'", csp);
    }

    [Fact]
    public async Task The_API_reference_gets_only_the_allowances_Swagger_UI_needs()
    {
        using var client = app.Client();
        using var response = await client.GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertSecurityHeaders(response);
        var csp = Csp(response);
        Assert.Contains("style-src 'self' 'unsafe-inline'", csp);
        Assert.Contains("script-src 'self';", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
    }

    [Fact]
    public async Task CORS_is_off_by_default()
    {
        using var client = app.Client();
        using var preflight = await client.SendAsync(Preflight(Origin));
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Methods"));

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/worlds");
        get.Headers.Add("Origin", Origin);
        using var response = await client.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_configured_origin_passes_preflight_with_the_API_headers_and_others_do_not()
    {
        await using var cors = new KestrelLoomApp(new Dictionary<string, string?> { ["Loom:Cors:Origins:0"] = Origin + "/" });
        using var client = cors.Client();

        using var preflight = await client.SendAsync(Preflight(Origin));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(Origin, Assert.Single(preflight.Headers.GetValues("Access-Control-Allow-Origin")));
        var allowedHeaders = string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        foreach (var header in new[] { "authorization", "content-type", "idempotency-key", "last-event-id" }) Assert.Contains(header, allowedHeaders);
        Assert.Contains("POST", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Methods")));
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Credentials"));

        // OpenAI's npm client in a browser sends its own headers on every /v1 call.
        using var sdk = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        sdk.Headers.Add("Origin", Origin);
        sdk.Headers.Add("Access-Control-Request-Method", "POST");
        sdk.Headers.Add("Access-Control-Request-Headers", "authorization, content-type, x-stainless-arch, x-stainless-lang, x-stainless-os, "
            + "x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout");
        using var sdkPreflight = await client.SendAsync(sdk);
        Assert.Equal(HttpStatusCode.NoContent, sdkPreflight.StatusCode);
        Assert.Contains("x-stainless-retry-count", string.Join(",", sdkPreflight.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant());

        using var stranger = await client.SendAsync(Preflight("https://evil.example"));
        Assert.False(stranger.Headers.Contains("Access-Control-Allow-Origin"));

        // An error answer keeps the CORS headers, so the calling page can read the problem.
        using var missing = new HttpRequestMessage(HttpMethod.Get, "/api/sessions/no-such-session");
        missing.Headers.Add("Origin", Origin);
        using var problem = await client.SendAsync(missing);
        Assert.Equal(HttpStatusCode.NotFound, problem.StatusCode);
        Assert.Equal(Origin, Assert.Single(problem.Headers.GetValues("Access-Control-Allow-Origin")));
        var exposed = string.Join(",", problem.Headers.GetValues("Access-Control-Expose-Headers"));
        foreach (var header in new[] { "Retry-After", "X-Loom-Session", "X-Loom-Turn" }) Assert.Contains(header, exposed);

        // So does a body refused for its encoding, before any endpoint reads it.
        using var latin1 = new HttpRequestMessage(HttpMethod.Post, "/api/sessions")
        {
            Content = new StringContent("{}", System.Text.Encoding.Latin1, "application/json"),
        };
        latin1.Headers.Add("Origin", Origin);
        using var unsupported = await client.SendAsync(latin1);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, unsupported.StatusCode);
        Assert.Equal(Origin, Assert.Single(unsupported.Headers.GetValues("Access-Control-Allow-Origin")));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://*.example")]
    [InlineData("https://play.example/path")]
    [InlineData("play.example")]
    [InlineData("ftp://play.example")]
    public void A_wildcard_or_a_non_origin_in_the_CORS_list_is_a_startup_error(string origin)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Loom:Cors:Origins:0"] = origin }).Build();
        var error = Assert.Throws<OptionsValidationException>(() => CorsSettings.From(configuration));
        Assert.Contains("Loom:Cors:Origins", Assert.Single(error.Failures));
    }

    [Fact]
    public async Task Size_limits_come_from_configuration()
    {
        await using var small = new KestrelLoomApp(new Dictionary<string, string?>
        {
            ["Loom:Http:Limits:MaxBodyBytes"] = "1024",
            ["Loom:Http:Limits:MaxRequestHeadersTotalBytes"] = "4096",
        });
        using var client = small.Client();

        var body = "{\"worldId\":\"ember-vale\",\"name\":\"" + new string('n', 2000) + "\"}";
        using var tooLarge = await client.PostAsync("/api/sessions", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = ErrorAnswerTests.AssertProblem(tooLarge, await tooLarge.Content.ReadAsStringAsync());
        Assert.Equal(413, problem["status"]!.GetValue<int>());
        Assert.Contains("1024 bytes", problem["detail"]!.GetValue<string>());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/worlds");
        request.Headers.TryAddWithoutValidation("X-Padding", new string('a', 6 * 1024));
        using var headers = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, headers.StatusCode);

        // The default gateway takes the same request.
        using var defaults = app.Client();
        using var same = new HttpRequestMessage(HttpMethod.Get, "/api/worlds");
        same.Headers.TryAddWithoutValidation("X-Padding", new string('a', 6 * 1024));
        Assert.Equal(HttpStatusCode.OK, (await defaults.SendAsync(same)).StatusCode);
    }

    [Fact]
    public async Task The_listen_backlog_comes_from_configuration()
    {
        // A burst of new clients beyond Kestrel's default 512 lost connections to the kernel's queue, each retried a
        // second later; the gateway asks for 4096 (Linux caps it at net.core.somaxconn).
        var somaxconn = int.Parse(File.ReadAllText("/proc/sys/net/core/somaxconn").Trim(), CultureInfo.InvariantCulture);
        Assert.Equal(Math.Min(4096, somaxconn), await ListenBacklogAsync(app.BaseAddress.Port));

        await using var small = new KestrelLoomApp(new Dictionary<string, string?> { ["Loom:Http:Limits:ListenBacklog"] = "100" });
        Assert.Equal(100, await ListenBacklogAsync(small.BaseAddress.Port));
    }

    [Theory]
    [InlineData("Loom:Http:Limits:ListenBacklog", "0", "Loom:Http:Limits:ListenBacklog must be between 1 and 65535 (got 0).")]
    [InlineData("Loom:Http:Limits:ListenBacklog", "70000", "Loom:Http:Limits:ListenBacklog must be between 1 and 65535 (got 70000).")]
    [InlineData("Loom:Http:Limits:MaxRequestHeaderCount", "0", "Loom:Http:Limits:MaxRequestHeaderCount must be positive (got 0).")]
    public void A_limit_out_of_range_is_a_startup_error(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var error = Assert.Throws<OptionsValidationException>(() => HttpLimitsOptions.From(configuration));
        Assert.Equal(expected, Assert.Single(error.Failures));
    }

    /// <summary>The listening socket's backlog as the kernel reports it (<c>ss</c>: Send-Q of a LISTEN socket).</summary>
    private static async Task<int> ListenBacklogAsync(int port)
    {
        using var ss = Process.Start(new ProcessStartInfo("ss", ["-H", "-l", "-t", "-n", $"sport = :{port}"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = await ss.StandardOutput.ReadToEndAsync();
        await ss.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return int.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture);
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/sessions");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization, content-type, idempotency-key");
        return request;
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.False(response.Headers.Contains("Server"));
    }

    private static string Csp(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
}
