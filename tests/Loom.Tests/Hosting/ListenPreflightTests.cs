using System.Net;
using System.Net.Sockets;
using Loom.Gateway.Hosting;

namespace Loom.Tests.Hosting;

public class ListenPreflightTests
{
    [Fact]
    public void An_address_another_socket_listens_on_is_found_whether_named_by_ip_localhost_or_in_a_list()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var free = FreePort();

        Assert.Equal($"http://127.0.0.1:{port}", ListenPreflight.TakenAddress($"http://127.0.0.1:{port}"));
        Assert.Equal($"http://localhost:{port}", ListenPreflight.TakenAddress($"http://localhost:{port}"));
        Assert.Equal($"http://127.0.0.1:{port}", ListenPreflight.TakenAddress($"http://127.0.0.1:{free}; http://127.0.0.1:{port}"));
        // The IPv4 wildcard overlaps the loopback listener, as Kestrel's own bind would find.
        Assert.Equal($"http://0.0.0.0:{port}", ListenPreflight.TakenAddress($"http://0.0.0.0:{port}"));
    }

    [Fact]
    public void Free_ports_and_addresses_it_cannot_judge_are_left_to_the_server()
    {
        Assert.Null(ListenPreflight.TakenAddress($"http://127.0.0.1:{FreePort()}"));
        Assert.Null(ListenPreflight.TakenAddress($"http://localhost:{FreePort()}"));
        Assert.Null(ListenPreflight.TakenAddress("http://127.0.0.1:0")); // any free port
        Assert.Null(ListenPreflight.TakenAddress("http://unix:/tmp/loom-preflight.sock"));
        Assert.Null(ListenPreflight.TakenAddress("not a url"));
        Assert.Null(ListenPreflight.TakenAddress(null));
        Assert.Null(ListenPreflight.TakenAddress(""));
    }

    [Fact]
    public void Checking_an_address_leaves_it_free_for_the_server()
    {
        var port = FreePort();
        Assert.Null(ListenPreflight.TakenAddress($"http://127.0.0.1:{port}"));

        using var server = new TcpListener(IPAddress.Loopback, port);
        server.Start(); // the check's socket is closed: the server binds the same port at once
        Assert.Equal(port, ((IPEndPoint)server.LocalEndpoint).Port);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
