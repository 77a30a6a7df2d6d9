using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Loom.Silo.Hosting;

/// <summary>
/// Where a host listens when nothing says: loopback on its own port, so a bare <c>dotnet run</c> or
/// <c>dotnet Loom.Gateway.dll</c> answers at the address the README gives (Kestrel's own default is port 5000 for both
/// programs) and reaches no other machine. Every listen setting Kestrel honours — its endpoints, <c>urls</c>,
/// <c>http_ports</c>/<c>https_ports</c> (the container images' <c>ASPNETCORE_URLS</c> among them) — wins over it.
/// </summary>
public static class ListenDefaults
{
    public static void ListenOnLoopbackUnlessConfigured(this WebApplicationBuilder builder, int port)
    {
        if (ListenPreflight.ListenUrls(builder.Configuration) is null) builder.WebHost.UseUrls($"http://localhost:{port}");
    }
}
