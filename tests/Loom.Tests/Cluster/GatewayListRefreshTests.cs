using Loom.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Loom.Tests.Cluster;

/// <summary>
/// A frozen silo keeps its client connections open, so the gateway stops routing through it only when it re-reads the
/// active silos; Orleans' one-minute default kept a CI run's sessions unanswered 50 s past the death declaration.
/// </summary>
public sealed class GatewayListRefreshTests
{
    private static GatewayOptions GatewayOptionsFor(params string[] extra)
    {
        var builder = WebApplication.CreateBuilder(
            ["--Loom:Cluster:Mode=redis", "--Loom:Cluster:RedisConnectionString=127.0.0.1:1,abortConnect=false", .. extra]);
        builder.AddLoomGateway();
        using var app = builder.Build(); // built, never started: nothing connects
        return app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
    }

    [Fact]
    public void The_gateway_rereads_the_active_silos_every_ten_seconds_unless_configured()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), GatewayOptionsFor().GatewayListRefreshPeriod);
        Assert.Equal(TimeSpan.FromSeconds(3), GatewayOptionsFor("--Loom:Cluster:GatewayListRefreshSeconds=3").GatewayListRefreshPeriod);
        var refused = Assert.Throws<OptionsValidationException>(() => GatewayOptionsFor("--Loom:Cluster:GatewayListRefreshSeconds=0"));
        Assert.Contains("GatewayListRefreshSeconds", refused.Message);
    }
}
