using Loom.Tests.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Security;

/// <summary>
/// The whole gateway on real Kestrel (loopback, free port), as a client or a browser meets it: Kestrel's own headers,
/// body limits and rejections are part of what these tests check, and the in-memory test server has none of them.
/// <paramref name="configure"/> runs after the usual test set-up (environment, extra services).
/// </summary>
public class KestrelLoomApp(IDictionary<string, string?>? settings = null, Action<IWebHostBuilder>? configure = null, bool apiKeys = true)
    : LoomAppFactory(dataDirectory: null, settings, apiKeys)
{
    private Uri? _baseAddress;

    public Uri BaseAddress => _baseAddress ??= Start();

    /// <summary>A client with Alice's key (or none), talking HTTP/1.1 over a real socket.</summary>
    public HttpClient Client(string? apiKey = AliceKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        configure?.Invoke(builder);
    }

    private Uri Start()
    {
        UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
        StartServer();
        return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }
}
