using System.Text.Json;
using Loom.Errors;
using Loom.Events;
using Loom.Gateway.Auth;
using Loom.Gateway.Events;
using Loom.Multiplayer;
using Loom.Sessions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// Server-sent events for a session. Connections read this process's one feed of the session (<see cref="SessionFeeds"/>),
/// which resubscribes by itself when the session moves; a connection starts from the session's catch-up (the replay after
/// <c>Last-Event-ID</c>, or the pending turns), then the feed's live frames after what the catch-up covered.
/// </summary>
public static class EventStreamEndpoint
{
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapEventStream(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sessions/{sessionId}/events", StreamAsync)
            .WithTags("Turns")
            .RequireRoles(LoomPolicies.Play)
            .Produces(200, contentType: "text/event-stream")
            .ProducesProblem(404);
        return app;
    }

    private static async Task StreamAsync(string sessionId, HttpContext http, IGrainFactory grains, SessionFeeds feeds,
        IOptions<JsonOptions> json, CallerResolver callers, CancellationToken requestAborted)
    {
        var caller = http.GetCaller();
        var lastEventId = http.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? http.Request.Query["lastEventId"].FirstOrDefault();
        var session = grains.GetGrain<ISessionGrain>(sessionId);

        // As the owner first (no room call for a solo session); a member is let in by the room. Failing here still answers 404.
        async Task<(SessionFeeds.Watcher, SessionCatchup)> OpenAsync(string owner)
        {
            var attached = await feeds.AttachAsync(sessionId, owner, requestAborted);
            try
            {
                return (attached, await session.Catchup(owner, lastEventId));
            }
            catch
            {
                attached.Dispose();
                throw;
            }
        }
        SessionFeeds.Watcher watcher;
        SessionCatchup catchup;
        try
        {
            (watcher, catchup) = await OpenAsync(caller.OwnerId);
        }
        catch (LoomProblemException e) when (e.IsNotFound("Session"))
        {
            var access = await grains.GetGrain<ISessionRoomGrain>(sessionId).Resolve(caller, RoomAction.Read);
            if (!access.Shared) throw;
            (watcher, catchup) = await OpenAsync(access.ActingOwnerId);
        }
        using var _ = watcher;

        // Ends both halves of a shared session's stream when either ends (e.g. the member was removed).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        var cancellationToken = stop.Token;
        // A shared session's room (members, presence, side channel) streams on the same connection; while it is read, this
        // member counts as online.
        var room = catchup.Shared ? grains.GetGrain<ISessionRoomGrain>(sessionId).Watch(caller, cancellationToken).GetAsyncEnumerator(cancellationToken) : null;
        if (room is not null) await room.MoveNextAsync();

        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        using var writing = new SemaphoreSlim(1, 1);
        var key = new StreamCallerCheck(callers, http);
        async Task WriteAsync(string text)
        {
            await writing.WaitAsync(cancellationToken);
            try
            {
                // A key revoked or expired since the stream opened ends it before anything else is sent; the client's
                // reconnect then gets 401.
                if (!ReferenceEquals(text, SseFrame.Heartbeat.Text) && !await key.StillValidAsync(cancellationToken))
                {
                    await stop.CancelAsync();
                    throw new OperationCanceledException(cancellationToken);
                }
                await response.WriteAsync(text, cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
            }
            finally
            {
                writing.Release();
            }
        }
        var serializer = json.Value.SerializerOptions;
        var roomPump = room is null ? Task.CompletedTask : PumpRoomAsync(room, WriteAsync, serializer, stop);
        try
        {
            await WriteAsync(": connected\n\n");
            foreach (var ev in catchup.Events) await WriteAsync(SseFrame.Of(ev, serializer).Text);
            var covered = SseFrame.IdOf(catchup.UpTo);
            await foreach (var frame in watcher.Frames.ReadWithHeartbeatsAsync(HeartbeatEvery, () => SseFrame.Heartbeat, cancellationToken))
            {
                if (frame.Id != 0 && frame.Id <= covered) continue; // already in the catch-up
                await WriteAsync(frame.Text);
            }
            // The feed ended: the session was erased or shut down; the client reconnects (EventSource does).
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await stop.CancelAsync();
            await roomPump;
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
}
