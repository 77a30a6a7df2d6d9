using System.Net;
using System.Net.Sockets;

namespace Loom.LoadTests.Target;

public static class Loopback
{
    /// <summary>The runner only ever talks to this machine: a load generator must not be pointed at someone else's server.</summary>
    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>A TCP port free right now on 127.0.0.1 (the child binds it moments later; a clash fails its start loudly).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
