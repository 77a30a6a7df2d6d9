using System.Net;
using System.Net.Sockets;

namespace Loom.LoadTests.Target;

public static class Loopback
{
    // Below Linux's ephemeral range (32768–60999), which the OS never hands out on its own, and apart from the
    // range the test fixtures allocate from (20000–31999), so a gateway started here cannot collide with either.
    private const int First = 12_000;
    private const int Count = 8_000;

    // A random start keeps two runners on one machine apart as well.
    private static int s_offset = Random.Shared.Next(Count);

    /// <summary>The runner only ever talks to this machine: a load generator must not be pointed at someone else's server.</summary>
    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>
    /// A port on 127.0.0.1 for a child process to bind moments later: never handed out twice by this process and
    /// bindable right now. Asking the OS for port 0 instead raced with every other port-0 listener and outgoing
    /// connection on the machine (the child then failed to bind while tests ran in parallel).
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < Count; attempt++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref s_offset) % Count);
            if (Bindable(port)) return port;
        }
        throw new InvalidOperationException($"No bindable loopback port in {First}..{First + Count - 1}.");
    }

    private static bool Bindable(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
