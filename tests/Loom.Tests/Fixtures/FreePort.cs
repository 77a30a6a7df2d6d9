using System.Net;
using System.Net.Sockets;

namespace Loom.Tests.Fixtures;

/// <summary>
/// Ports for servers the tests start (silos, PostgreSQL, Redis, gateways). Asking the OS for port 0 and handing
/// the number on raced with every other port-0 listener and outgoing connection in this parallel test run (a silo
/// once failed with "address already in use"). These come from below Linux's ephemeral range (32768–60999), which
/// the OS never hands out on its own, each port at most once per process, and only if it is bindable right now.
/// </summary>
public static class FreePort
{
    private const int First = 20_000;
    private const int Count = 12_000;

    // A random start keeps two test processes on one machine apart as well.
    private static int s_offset = Random.Shared.Next(Count);

    public static int Next()
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
