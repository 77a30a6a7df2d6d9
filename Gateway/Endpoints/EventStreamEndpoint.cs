using System.Text.Json;
using Loom.Events;
using Loom.Gateway.Auth;
using Loom.Multiplayer;
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
        IOptions<JsonOptions> json, ILoggerFactory loggers, CancellationToken requestAborted)
    {
        var caller = http.GetCaller();
        var access = await grains.AccessAsync(http, sessionId, RoomAction.Read);
        var owner = access.ActingOwnerId;
        var lastEventId = http.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? http.Request.Query["lastEventId"].FirstOrDefault();
        var session = grains.GetGrain<ISessionGrain>(sessionId);
        var logger = loggers.CreateLogger("Loom.Gateway.Events");
        // Ends both halves of a shared session's stream when either ends (e.g. the member was removed).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        var cancellationToken = stop.Token;

        // The first item is produced at once after the owner check: failing here still answers a proper 404.
        var events = session.Watch(owner, lastEventId, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await events.MoveNextAsync();
        // A shared session's room (members, presence, side channel) streams on the same connection; while it is
        // read, this member counts as online.
        var room = access.Shared ? grains.GetGrain<ISessionRoomGrain>(sessionId).Watch(caller, cancellationToken).GetAsyncEnumerator(cancellationToken) : null;
        if (room is not null) await room.MoveNextAsync();

        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        using var writing = new SemaphoreSlim(1, 1);
        async Task WriteAsync(string text)
        {
            await writing.WaitAsync(cancellationToken);
            try
            {
                await response.WriteAsync(text, cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
            }
            finally
            {
                writing.Release();
            }
        }
        await WriteAsync(": connected\n\n");
        var roomPump = room is null ? Task.CompletedTask : PumpRoomAsync(room, WriteAsync, json.Value.SerializerOptions, stop);

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    while (await events.MoveNextAsync())
                    {
                        var ev = events.Current;
                        if (ev.Type == SessionEventTypes.Heartbeat)
                        {
                            await WriteAsync(": keepalive\n\n");
                        }
                        else
                        {
                            lastEventId = ev.Id;
                            await WriteAsync($"id: {ev.Id}\nevent: {ev.Type}\ndata: {JsonSerializer.Serialize(Payload(ev), json.Value.SerializerOptions)}\n\n");
                        }
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
        finally
        {
            await stop.CancelAsync();
            await roomPump;
            await events.DisposeAsync();
        }
    }

    /// <summary>Room events carry no <c>id:</c>, so <c>Last-Event-ID</c> keeps resuming the story's own events.</summary>
    private static async Task PumpRoomAsync(IAsyncEnumerator<RoomEvent> room, Func<string, Task> write, JsonSerializerOptions json, CancellationTokenSource stop)
    {
        try
        {
            while (await room.MoveNextAsync())
            {
                var ev = room.Current;
                if (ev.Type == RoomEventTypes.Heartbeat) continue;
                object? payload = ev.Type switch
                {
                    RoomEventTypes.Chat => ev.Chat,
                    RoomEventTypes.Proposal => new { proposal = ev.Proposal, turnId = ev.ProposalOutcome },
                    _ => ev.Room,
                };
                await write($"event: {ev.Type}\ndata: {JsonSerializer.Serialize(payload, json)}\n\n");
            }
        }
        catch (Exception)
        {
            // The room's stream broke or was cancelled: the whole stream ends and the client reconnects (EventSource does).
        }
        finally
        {
            await stop.CancelAsync();
            await room.DisposeAsync();
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
