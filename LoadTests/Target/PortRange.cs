using System.Net;
using System.Net.Sockets;

namespace Loom.LoadTests.Target;

/// <summary>
/// Loopback ports for a server to bind moments later, from a fixed range below Linux's ephemeral range
/// (32768–60999, which the OS never hands out on its own): each port at most once per process, and only if it is
/// bindable right now. Asking the OS for port 0 instead raced with every other port-0 listener and outgoing
/// connection on the machine (a child then failed to bind while tests ran in parallel).
/// </summary>
public sealed class PortRange(int first, int count)
{
    // A random start keeps two processes using the same range apart as well.
    private int _offset = Random.Shared.Next(count);

    public int Next()
    {
        for (var attempt = 0; attempt < count; attempt++)
        {
            var port = first + (int)((uint)Interlocked.Increment(ref _offset) % count);
            if (Bindable(port)) return port;
        }
        throw new InvalidOperationException($"No bindable loopback port in {first}..{first + count - 1}.");
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
