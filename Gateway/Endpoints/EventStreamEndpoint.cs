using System.Text.Json;
using Loom.Events;
using Loom.Gateway.Auth;
using Loom.Sessions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// Server-sent events for a session. The session grain streams events (IAsyncEnumerable); if that enumeration
/// is dropped (the grain moved or was deactivated) we resubscribe from the last id we sent, so the browser's
/// connection survives cluster changes.
/// </summary>
public static partial class EventStreamEndpoint
{
    public static IEndpointRouteBuilder MapEventStream(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sessions/{sessionId}/events", StreamAsync)
            .WithTags("Turns")
            .RequireRoles(LoomPolicies.Play)
            .Produces(200, contentType: "text/event-stream")
            .ProducesProblem(404);
        return app;
    }

    private static async Task StreamAsync(string sessionId, HttpContext http, IGrainFactory grains,
        IOptions<JsonOptions> json, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var owner = http.GetCaller().OwnerId;
        var lastEventId = http.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? http.Request.Query["lastEventId"].FirstOrDefault();
        var session = grains.GetGrain<ISessionGrain>(sessionId);
        var logger = loggers.CreateLogger("Loom.Gateway.Events");

        // The first item is produced at once after the owner check: failing here still answers a proper 404.
        var events = session.Watch(owner, lastEventId, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await events.MoveNextAsync();

        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.WriteAsync(": connected\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                while (await events.MoveNextAsync())
                {
                    var ev = events.Current;
                    if (ev.Type == SessionEventTypes.Heartbeat)
                    {
                        await response.WriteAsync(": keepalive\n\n", cancellationToken);
                    }
                    else
                    {
                        lastEventId = ev.Id;
                        await response.WriteAsync($"id: {ev.Id}\nevent: {ev.Type}\ndata: {JsonSerializer.Serialize(Payload(ev), json.Value.SerializerOptions)}\n\n", cancellationToken);
                    }
                    await response.Body.FlushAsync(cancellationToken);
                }
                return; // the session ended the stream (erased or shutting down)
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                LogResubscribe(logger, ex.GetType().Name, sessionId);
                await events.DisposeAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                events = session.Watch(owner, lastEventId, cancellationToken).GetAsyncEnumerator(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>What each event carries, per the contract.</summary>
    private static object? Payload(SessionEvent ev) => ev.Type switch
    {
        SessionEventTypes.TurnDelta => new { turnId = ev.TurnId, text = ev.Text },
        SessionEventTypes.MemoryUpdated => new { turnId = ev.TurnId, ops = ev.Memory },
        SessionEventTypes.SessionRolledBack => ev.Session,
        _ => ev.Turn,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Event stream for {SessionId} interrupted ({Kind}); resubscribing")]
    private static partial void LogResubscribe(ILogger logger, string kind, string sessionId);
}
