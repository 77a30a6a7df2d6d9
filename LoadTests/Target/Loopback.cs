using System.Net;

namespace Loom.LoadTests.Target;

public static class Loopback
{
    // Apart from the range the test fixtures allocate from (20000–31999), so a gateway started here cannot collide with them.
    private static readonly PortRange s_ports = new(first: 12_000, count: 8_000);

    /// <summary>The runner only ever talks to this machine: a load generator must not be pointed at someone else's server.</summary>
    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>A port on 127.0.0.1 for a child process to bind moments later (see <see cref="PortRange"/>).</summary>
    public static int FreePort() => s_ports.Next();
}
