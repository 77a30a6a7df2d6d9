using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Loom.Tests.Cluster;

/// <summary>
/// What a Kubernetes Service does for the gateways, on the client side: requests go round-robin over the gateways
/// currently routed to (<see cref="Route"/>/<see cref="Unroute"/>, as readiness and preStop change a Service's
/// endpoints), and one refused at connect (nothing was sent) goes to the next. Anything else — a reset mid-request, a
/// timeout — reaches the caller, whose retry with the same Idempotency-Key decides.
/// </summary>
public sealed class GatewayBalancer(IEnumerable<Uri> gateways) : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly List<Uri> _routed = [.. gateways];
    private int _next;

    public int Refused { get; private set; }

    /// <summary>A client over this balancer (which it disposes) with the API key.</summary>
    public HttpClient Client(string apiKey)
    {
        var http = new HttpClient(this) { BaseAddress = Snapshot()[0], Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return http;
    }

    public void Route(Uri gateway)
    {
        lock (_routed) _routed.Add(gateway);
    }

    public void Unroute(Uri gateway)
    {
        lock (_routed) _routed.Remove(gateway);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var routed = Snapshot();
        var start = Interlocked.Increment(ref _next);
        for (var attempt = 0; ; attempt++)
        {
            request.RequestUri = new Uri(routed[(start + attempt) % routed.Count], request.RequestUri!.PathAndQuery);
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused } && attempt < routed.Count - 1)
            {
                Refused++;
            }
        }
    }

    private List<Uri> Snapshot()
    {
        lock (_routed) return [.. _routed];
    }
}
