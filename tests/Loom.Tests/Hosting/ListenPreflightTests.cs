using System.Net;
using System.Net.Sockets;
using Loom.Silo.Hosting;
using Microsoft.Extensions.Configuration;

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

        Assert.Equal($"http://127.0.0.1:{port}", ListenPreflight.FirstTaken($"http://127.0.0.1:{port}"));
        Assert.Equal($"http://localhost:{port}", ListenPreflight.FirstTaken($"http://localhost:{port}"));
        Assert.Equal($"http://127.0.0.1:{port}", ListenPreflight.FirstTaken($"http://127.0.0.1:{free}; http://127.0.0.1:{port}"));
        // The IPv4 wildcard overlaps the loopback listener, as Kestrel's own bind would find.
        Assert.Equal($"http://0.0.0.0:{port}", ListenPreflight.FirstTaken($"http://0.0.0.0:{port}"));
    }

    [Fact]
    public void Free_ports_and_addresses_it_cannot_judge_are_left_to_the_server()
    {
        Assert.Null(ListenPreflight.FirstTaken($"http://127.0.0.1:{FreePort()}"));
        Assert.Null(ListenPreflight.FirstTaken($"http://localhost:{FreePort()}"));
        Assert.Null(ListenPreflight.FirstTaken("http://127.0.0.1:0")); // any free port
        Assert.Null(ListenPreflight.FirstTaken("http://unix:/tmp/loom-preflight.sock"));
        Assert.Null(ListenPreflight.FirstTaken("not a url"));
        Assert.Null(ListenPreflight.FirstTaken("http://127.0.0.1:99999")); // Kestrel refuses it itself
        Assert.Null(ListenPreflight.FirstTaken("http://127.0.0.1:port"));
        Assert.Null(ListenPreflight.FirstTaken("http://[::1:5080"));
        Assert.Null(ListenPreflight.FirstTaken(null));
        Assert.Null(ListenPreflight.FirstTaken(""));
    }

    [Fact]
    public void Kestrels_own_endpoints_then_urls_then_the_port_settings_are_checked_as_Kestrel_would_listen()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var url = $"http://127.0.0.1:{port}";
        var free = $"http://127.0.0.1:{FreePort()}";
        IConfiguration Settings(params (string Key, string Value)[] values) =>
            new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

        Assert.Equal(url, ListenPreflight.TakenAddress(Settings(("urls", url))));
        Assert.Null(ListenPreflight.TakenAddress(Settings()));
        Assert.Null(ListenPreflight.ListenUrls(Settings()));
        // Kestrel's endpoints win over urls: a taken urls address must not stop the start, a taken endpoint must.
        Assert.Null(ListenPreflight.TakenAddress(Settings(("urls", url), ("Kestrel:Endpoints:Http:Url", free))));
        Assert.Equal(url, ListenPreflight.TakenAddress(Settings(("urls", free), ("Kestrel:Endpoints:Http:Url", free),
            ("Kestrel:Endpoints:Other:Url", url))));
        // The port settings apply to any address, and only when urls is empty.
        Assert.Equal($"http://*:{port}", ListenPreflight.TakenAddress(Settings(("http_ports", $"{FreePort()};{port}"))));
        Assert.Equal($"https://*:{port}", ListenPreflight.TakenAddress(Settings(("https_ports", port.ToString()))));
        Assert.Null(ListenPreflight.TakenAddress(Settings(("urls", free), ("http_ports", port.ToString()))));
    }

    [Fact]
    public void Checking_an_address_leaves_it_free_for_the_server()
    {
        var port = FreePort();
        Assert.Null(ListenPreflight.FirstTaken($"http://127.0.0.1:{port}"));

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
