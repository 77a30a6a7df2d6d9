using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Loom.Errors;
using Loom.Gateway.Http;
using Loom.Silo.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Loom.Tests.Telemetry;

/// <summary>The gateway counts its own server-side failures in loom_errors_total (component "gateway"), never a caller's 4xx.</summary>
[Collection(MetricsCollection.Name)]
public sealed class GatewayErrorMetricsTests
{
    [Fact]
    public async Task Cluster_trouble_counts_as_a_gateway_error_and_a_bad_request_does_not()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddLoomTelemetry("loom-tests");
        builder.Services.AddLoomProblems();
        await using var app = builder.Build();
        app.UseExceptionHandler();
        app.MapGet("/unavailable", string () => throw new SiloUnavailableException());
        app.MapGet("/invalid", string () => throw Problems.Invalid("input", "input must not be empty."));
        app.MapLoomMetrics();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/unavailable")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/unavailable")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/invalid")).StatusCode);

        // Observable counters report on collection: poll past the exporter's short scrape cache.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string text;
        do
        {
            text = await http.GetStringAsync(TelemetryExtensions.MetricsPath);
            if (Value(text, "cluster_unavailable", "gateway") == 2)
            {
                break;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(2, Value(text, "cluster_unavailable", "gateway"));
        Assert.Equal(0, Value(text, "internal_error", "gateway"));
        Assert.DoesNotContain("error_type=\"invalid", text, StringComparison.Ordinal);
    }

    private static double Value(string text, string errorType, string component)
    {
        foreach (Match m in Regex.Matches(text, @"^loom_errors_total\{([^}]*)\} (\S+)", RegexOptions.Multiline))
        {
            if (m.Groups[1].Value.Contains($"error_type=\"{errorType}\"", StringComparison.Ordinal) &&
                m.Groups[1].Value.Contains($"component=\"{component}\"", StringComparison.Ordinal))
            {
                return double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }
}
