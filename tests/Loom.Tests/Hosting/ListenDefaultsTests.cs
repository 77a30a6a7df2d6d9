using Loom.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Loom.Tests.Hosting;

public class ListenDefaultsTests
{
    [Fact]
    public void Without_any_listen_setting_the_host_listens_on_loopback_at_its_own_port()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.ListenOnLoopbackUnlessConfigured(5080);
        Assert.Equal("http://localhost:5080", builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));
    }

    [Theory]
    [InlineData("--urls", "http://127.0.0.1:6001", "http://127.0.0.1:6001")]
    [InlineData("--http_ports", "6002", null)]
    [InlineData("--https_ports", "6003", null)]
    [InlineData("--Kestrel:Endpoints:Http:Url", "http://127.0.0.1:6004", null)]
    public void Any_setting_kestrel_listens_by_wins(string option, string value, string? urlsAfter)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [option, value] });
        builder.ListenOnLoopbackUnlessConfigured(5080);
        Assert.Equal(urlsAfter, builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));
    }
}
