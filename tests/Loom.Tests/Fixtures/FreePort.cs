using System.Net;
using System.Net.Sockets;

namespace Loom.Tests.Fixtures;

public static class FreePort
{
    /// <summary>A loopback TCP port that was free a moment ago (the OS picks it; a tiny reuse race remains).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
