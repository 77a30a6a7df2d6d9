using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Loom.Gateway.Auth;
using Loom.Tests.Api;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Security;

/// <summary>Every mapped endpoint, found by enumeration rather than by a list that could miss one, refuses requests without a valid key.</summary>
public sealed partial class EndpointAuthenticationTests(EndpointAuthenticationTests.App app) : IClassFixture<EndpointAuthenticationTests.App>
{
    /// <summary>A wrong key on every endpoint is more failed authentications from one client than the default allows at once.</summary>
    public sealed class App() : SecurityAppFactory(new Dictionary<string, string?> { ["Loom:Limits:FailedAuthBurst"] = "1000" });

    /// <summary>The only endpoints a request without a key may reach: probes, the scrape target and the API description.</summary>
    private static readonly string[] Anonymous = ["/healthz", "/readyz", "/metrics", "/openapi/{documentName}.json"];

    [Fact]
    public void Only_probes_metrics_and_the_openapi_document_are_anonymous_and_every_other_endpoint_names_a_role_policy()
    {
        var endpoints = Endpoints();
        Assert.True(endpoints.Count > 25, $"only {endpoints.Count} endpoints found");
        var anonymous = endpoints.Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null).Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).Distinct().Order();
        Assert.Equal(Anonymous.Order(), anonymous);

        var withoutPolicy = endpoints
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null)
            .Where(e => !e.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy is not null && LoomPolicies.Roles.ContainsKey(a.Policy)))
            .Select(e => e.DisplayName).ToList();
        Assert.True(withoutPolicy.Count == 0, "endpoints without a role policy: " + string.Join(", ", withoutPolicy));
    }

    [Fact]
    public async Task Every_endpoint_answers_a_missing_or_wrong_key_with_401_problem_and_a_bearer_challenge()
    {
        var anonymous = app.CreateClient();
        var wrong = app.ClientFor("loom_not-a-real-key");
        var checkedRequests = 0;
        foreach (var endpoint in Endpoints().Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null))
        {
            var path = Dummies().Replace(endpoint.RoutePattern.RawText!, "dummy1");
            if (!path.StartsWith('/')) path = "/" + path;
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                var missing = await SendAsync(anonymous, method, path);
                await ExpectUnauthorizedAsync(missing, $"{method} {path} without a key", invalidToken: false);
                var bad = await SendAsync(wrong, method, path);
                await ExpectUnauthorizedAsync(bad, $"{method} {path} with a wrong key", invalidToken: true);
                checkedRequests += 2;
            }
        }
        Assert.True(checkedRequests >= 50, $"only {checkedRequests} requests checked");
    }

    [Fact]
    public async Task A_malformed_authorization_header_is_an_invalid_request()
    {
        var client = app.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions");
        request.Headers.TryAddWithoutValidation("Authorization", "Basic YWxpY2U6eA==");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_request\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task The_page_and_the_api_reference_need_no_key()
    {
        var anonymous = app.CreateClient();
        Assert.Contains("LOOM", await anonymous.GetStringAsync("/"));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/docs/index.html")).StatusCode);
        var openapi = await anonymous.GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("bearer", openapi["components"]?["securitySchemes"]?["apiKey"]?["scheme"]?.GetValue<string>());
        Assert.Contains("/api/admin/keys", openapi["paths"]!.AsObject().Select(p => p.Key));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/metrics")).StatusCode);
    }

    private List<RouteEndpoint> Endpoints() =>
        app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        return await client.SendAsync(request);
    }

    private static async Task ExpectUnauthorizedAsync(HttpResponseMessage response, string what, bool invalidToken)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode} {text}");
        // The OpenAI-compatible surface answers in OpenAI's error shape (docs/openai-compatible.md); the rest in problem+json.
        var openAi = response.RequestMessage!.RequestUri!.AbsolutePath.StartsWith("/v1/", StringComparison.Ordinal);
        Assert.Equal(openAi ? "application/json" : "application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"code\":\"unauthorized\"", text);
        if (openAi) Assert.Equal("authentication_error", System.Text.Json.Nodes.JsonNode.Parse(text)!["error"]!["type"]!.GetValue<string>());
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        if (invalidToken) Assert.Contains("error=\"invalid_token\"", challenge.Parameter ?? "");
        else Assert.Null(challenge.Parameter);
    }

    /// <summary>Route parameters, with or without constraints and catch-alls.</summary>
    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Dummies();
}
