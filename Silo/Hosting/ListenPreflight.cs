using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Loom.Silo.Hosting;

/// <summary>
/// Finds an address another process already listens on before the host starts. Kestrel binds last, after the silo (a
/// silo's own, or a gateway's co-hosted one) has joined its cluster and warmed its grain path, so a second process on
/// the same port would otherwise spend those seconds and print the host's stack trace before failing. Best effort: only
/// "address in use" counts — anything it cannot judge is left to Kestrel's own bind (which <see cref="HostRun"/> still
/// reports).
/// </summary>
public static class ListenPreflight
{
    /// <summary>The first address Kestrel is configured to listen on that another process listens on, or null.</summary>
    public static string? TakenAddress(IConfiguration configuration) => FirstTaken(ListenUrls(configuration));

    /// <summary>
    /// The addresses Kestrel will listen on, <c>;</c>-separated, in its order of precedence: its own endpoints
    /// (<c>Kestrel:Endpoints:*:Url</c>, which make it ignore the rest), else <c>urls</c>, else <c>http_ports</c> and
    /// <c>https_ports</c> (any address). Null when none is configured.
    /// </summary>
    public static string? ListenUrls(IConfiguration configuration)
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints");
        if (endpoints.Exists()) return Join(endpoints.GetChildren().Select(e => e["Url"]));
        if (configuration[WebHostDefaults.ServerUrlsKey] is { } urls && !string.IsNullOrWhiteSpace(urls)) return urls;
        return Join(Ports(configuration[WebHostDefaults.HttpPortsKey], "http").Concat(Ports(configuration[WebHostDefaults.HttpsPortsKey], "https")));

        static IEnumerable<string?> Ports(string? ports, string scheme) =>
            (ports ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"{scheme}://*:{p}");

        static string? Join(IEnumerable<string?> urls) =>
            string.Join(';', urls.Where(u => !string.IsNullOrWhiteSpace(u))) is { Length: > 0 } joined ? joined : null;
    }

    /// <summary>The first of <paramref name="urls"/> (the <c>urls</c> setting, <c>;</c>-separated) that another process
    /// listens on, or null.</summary>
    public static string? FirstTaken(string? urls)
    {
        if (string.IsNullOrWhiteSpace(urls)) return null;
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
            {
                continue; // Kestrel reports a malformed address itself
            }

            if (address.IsNamedPipe || address.IsUnixPipe || address.Port is < IPEndPoint.MinPort + 1 or > IPEndPoint.MaxPort) continue;
            if (Endpoints(address.Host, address.Port).Any(InUse)) return url;
        }

        return null;
    }

    /// <summary>Where Kestrel binds for a host: both loopbacks for localhost, any address for a wildcard or a name.</summary>
    private static IEnumerable<IPEndPoint> Endpoints(string host, int port)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return [new(IPAddress.Loopback, port), new(IPAddress.IPv6Loopback, port)];
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip)) return [new(ip, port)];
        return [new(IPAddress.IPv6Any, port)];
    }

    private static bool InUse(IPEndPoint endpoint)
    {
        try
        {
            // As Kestrel's socket transport binds: the runtime's own socket options, dual mode for the IPv6 wildcard.
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (endpoint.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(endpoint);
            return false;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode == SocketError.AddressAlreadyInUse;
        }
    }
}
