using Loom.LoadTests.Core;

namespace Loom.LoadTests.Client;

/// <summary>
/// Records each exchange's status code and payload bytes on the step that made it (<see cref="StepTraffic.Current"/>).
/// Bodies are buffered to be measured; the client reads every answer whole anyway.
/// </summary>
public sealed class TrafficHandler : DelegatingHandler
{
    public TrafficHandler(HttpMessageHandler inner) : base(inner) { }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var step = StepTraffic.Current;
        if (step is null) return await base.SendAsync(request, ct);

        long sent = 0;
        if (request.Content is { } content)
        {
            await content.LoadIntoBufferAsync(ct);
            sent = content.Headers.ContentLength ?? 0;
        }
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            step.RecordTraffic("none", sent, 0);
            throw;
        }
        await response.Content.LoadIntoBufferAsync(ct);
        step.RecordTraffic(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), sent, response.Content.Headers.ContentLength ?? 0);
        return response;
    }
}
