using System.Net.ServerSentEvents;
using System.Threading.Channels;
using Loom.Cli.Api;

namespace Loom.Cli.Play;

/// <summary>
/// The session's event stream (<c>GET /api/sessions/{id}/events</c>), read in the background into a queue. It is opened
/// before the first turn is submitted, so no delta of that turn can be missed; when the stream ends the queue completes
/// and callers fall back to reading the turn itself.
/// </summary>
public sealed class SessionEvents : IAsyncDisposable
{
    private readonly Channel<SseItem<string>> _queue = Channel.CreateUnbounded<SseItem<string>>(new() { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpResponseMessage _response;
    private readonly Task _pump;

    private SessionEvents(HttpResponseMessage response)
    {
        _response = response;
        _pump = PumpAsync();
    }

    public static async Task<SessionEvents> OpenAsync(LoomApi api, string sessionId, CancellationToken ct) =>
        new(await api.OpenEventsAsync(sessionId, ct));

    public ChannelReader<SseItem<string>> Reader => _queue.Reader;

    private async Task PumpAsync()
    {
        try
        {
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(_stop.Token))
            {
                await _queue.Writer.WriteAsync(item, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // The connection ended (closed, reset, or we are stopping): completing the queue says so to the reader.
        }
        finally
        {
            _queue.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _pump;
        _stop.Dispose();
    }
}
