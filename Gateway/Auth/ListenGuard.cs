using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>
/// Refuses to serve on a non-loopback address without API keys: anonymous access is only for the single-user
/// embedded mode on this machine. Checked twice: from configuration before anything listens, and from the
/// bound addresses once Kestrel has started (for addresses set in code).
/// </summary>
public static class ListenGuard
{
    /// <summary>Every address the configuration asks the server to listen on (urls, HTTP(S)_PORTS, Kestrel endpoints).</summary>
    public static IReadOnlyList<string> ConfiguredAddresses(IConfiguration configuration)
    {
        var addresses = new List<string>();
        foreach (var url in (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            addresses.Add(url);
        }
        foreach (var (key, scheme) in new[] { ("http_ports", "http"), ("https_ports", "https") })
        {
            // ASPNETCORE_HTTP_PORTS binds every interface.
            foreach (var port in (configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                addresses.Add($"{scheme}://*:{port}");
            }
        }
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url) addresses.Add(url);
        }
        return addresses;
    }

    /// <summary>Throws at start-up when the configuration would expose the API beyond loopback without any key.</summary>
    public static void EnsureAuthForConfiguredAddresses(IConfiguration configuration)
    {
        var keys = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>()?.Keys ?? [];
        if (keys.Any(k => !string.IsNullOrWhiteSpace(k.Owner) && !string.IsNullOrWhiteSpace(k.Sha256))) return;
        var exposed = ConfiguredAddresses(configuration).Where(a => !CallerResolver.IsLoopbackAddress(a)).ToList();
        if (exposed.Count > 0) throw Refusal(exposed);
    }

    /// <summary>After Kestrel binds: stops the host when it listens beyond loopback without keys.</summary>
    public static void CheckBoundAddresses(IServer server, ConfigApiKeyLookup configKeys, IHostApplicationLifetime lifetime, ILogger logger)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.Count == 0 || configKeys.HasKeys) return;
        var exposed = addresses.Where(a => !CallerResolver.IsLoopbackAddress(a)).ToList();
        if (exposed.Count == 0) return;
        logger.LogCritical("{Message}", Refusal(exposed).Message);
        Environment.ExitCode = 1;
        lifetime.StopApplication();
    }

    private static OptionsValidationException Refusal(IReadOnlyList<string> exposed) => new(
        AuthOptions.Section, typeof(AuthOptions),
        [$"Refusing to listen on {string.Join(", ", exposed)} without API keys. Configure Loom:Auth:Keys " +
         "(create one with 'Loom.Gateway keys add --owner NAME') or listen on a loopback address only."]);
}
