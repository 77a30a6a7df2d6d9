using System.Net;
using Loom.Gateway.Http;
using Loom.Silo.Telemetry;
using Loom.Tests.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Loom.Tests.Security;

/// <summary>
/// The README's <c>dotnet run</c> runs in Development (launchSettings.json), where ASP.NET Core puts its developer
/// exception page (stack trace, source paths, headers) in front of the pipeline. An unexpected exception must still
/// answer problem+json 500 with nothing internal, whatever the Accept header. In the metrics collection: a 500
/// counts in loom_errors_total, which another test there reads at zero.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class DevelopmentErrorTests
{
    private const string Secret = "secret-connection-string at Loom.Secret.Vault.cs:42";

    [Fact]
    public async Task The_README_run_answers_an_unexpected_exception_with_problem_json_and_never_the_developer_page()
    {
        await using var app = new KestrelLoomApp(configure: builder => builder
            .UseEnvironment(Environments.Development)
            .ConfigureServices(services => services.AddSingleton<IStartupFilter, ThrowingRoute>()));
        using var client = app.Client();

        foreach (var accept in ErrorAnswerTests.Accepts)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ThrowingRoute.Path);
            if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.InternalServerError, $"Accept {accept}: {(int)response.StatusCode} {body}");
            var problem = ErrorAnswerTests.AssertProblem(response, body);
            Assert.Equal("internal_error", problem["code"]!.GetValue<string>());
            Assert.DoesNotContain("secret", body, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task An_exception_that_reaches_the_developer_page_is_answered_by_the_same_problem_writer()
    {
        // No exception handler at all: only the developer page that Development adds stands between the throw and the client.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddLoomTelemetry("loom-tests");
        builder.Services.AddLoomProblems();
        await using var host = builder.Build();
        host.MapGet("/boom", string () => throw new InvalidOperationException(Secret));
        await host.StartAsync();
        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        foreach (var accept in new[] { "text/html", "text/plain", "application/json" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("secret", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
            Assert.DoesNotContain("<html", body, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>Adds, only in this test host, a path that throws behind the application's own pipeline.</summary>
    private sealed class ThrowingRoute : IStartupFilter
    {
        public const string Path = "/test-only/throws";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            // Runs for requests no endpoint matched, inside the application's middleware (and its exception handler).
            app.Use((context, following) => context.Request.Path == Path ? throw new InvalidOperationException(Secret) : following(context));
        };
    }
}
