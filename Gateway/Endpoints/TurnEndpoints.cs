using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Multiplayer;
using Loom.Sessions;
using Loom.Turns;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Loom.Gateway.Endpoints;

public static class TurnEndpoints
{
    private const int DefaultWaitSeconds = 30;
    private const int MaxWaitSeconds = 120;

    public static IEndpointRouteBuilder MapTurnEndpoints(this IEndpointRouteBuilder app)
    {
        var turns = app.MapGroup("/api/sessions/{sessionId}/turns").WithTags("Turns").RequireRoles(LoomPolicies.Play);

        turns.MapPost("/", SubmitAsync)
            .RequireRateLimiting(LoomPolicies.Turns)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422).ProducesProblem(429);

        turns.MapGet("/", async (string sessionId, string? after, int? limit, bool? includeRetconned,
            HttpContext http, IGrainFactory grains) =>
        {
            if (!new TurnQuery { Limit = Paging.Limit(limit), IncludeRetconned = includeRetconned ?? false }.TryAfter(after, out var query))
                throw Problems.Invalid("after", "after must be a seq number or a cursor from a previous page.");
            return TypedResults.Ok(await grains.ReadAsync(http, sessionId, (s, a) => s.ListTurns(a.ActingOwnerId, query)));
        }).ProducesProblem(400).ProducesProblem(404);

        turns.MapGet("/{turnId}", async (string sessionId, string turnId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.ReadAsync(http, sessionId, (s, a) => s.GetTurn(a.ActingOwnerId, turnId))))
            .ProducesProblem(404);

        // Stop a turn that has not finished (the studio's Stop, the CLI's Ctrl-C): it ends failed as "cancelled".
        turns.MapPost("/{turnId}/cancel", async (string sessionId, string turnId, bool? wait, int? timeout, HttpContext http, IGrainFactory grains) =>
        {
            CheckWait(timeout);
            var access = await grains.AccessAsync(http, sessionId, RoomAction.Rollback);
            var session = grains.GetGrain<ISessionGrain>(sessionId);
            var turn = await session.CancelTurn(access.ActingOwnerId, turnId);
            await grains.RecordAsync(http, sessionId, access, "cancel", $"turn {turnId}");
            return await AnswerAsync(session, sessionId, access.ActingOwnerId, turn, wait, timeout);
        }).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        // What went into the turn's prompt and why (docs/lore.md, context viewer).
        turns.MapGet("/{turnId}/context", async (string sessionId, string turnId, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.ReadAsync(http, sessionId, (s, a) => s.GetTurnContext(a.ActingOwnerId, turnId))))
            .ProducesProblem(404);

        return app;
    }

    private static async Task<Results<Accepted<TurnView>, Ok<TurnView>>> SubmitAsync(
        string sessionId, SubmitTurnBody body, bool? wait, int? timeout,
        HttpContext http, IGrainFactory grains, SubmitDeadline deadline)
    {
        var caller = http.GetCaller();
        if (body.Input is null) throw Problems.Invalid("input", "input is required.");
        var key = IdempotencyKeys.Read(http);
        CheckWait(timeout);

        // The owner of a solo session queues straight into the session; members, and everyone once it is shared, through
        // the room (member check, turn order, attribution).
        var turn = await grains.SubmitAsync(caller, sessionId, new TurnSubmission { Input = body.Input, IdempotencyKey = key, NotAfter = deadline.NotAfter() });
        if (wait == true)
        {
            var turnId = turn.TurnId;
            turn = await grains.ReadAsync(http, sessionId, (s, a) => s.WaitForTurn(a.ActingOwnerId, turnId, TimeSpan.FromSeconds(timeout ?? DefaultWaitSeconds)));
            if (turn.Status.IsFinished()) return TypedResults.Ok(turn);
        }
        return TypedResults.Accepted($"/api/sessions/{sessionId}/turns/{turn.TurnId}", turn);
    }

    /// <summary>400 unless <c>timeout</c> (seconds for <c>?wait=true</c>) is in range.</summary>
    public static void CheckWait(int? timeout)
    {
        if (timeout is < 1 or > MaxWaitSeconds) throw Problems.Invalid("timeout", $"timeout must be 1 to {MaxWaitSeconds} seconds.");
    }

    /// <summary>202 with the queued turn; with <c>?wait=true</c> 200 once it finished within the timeout.</summary>
    public static async Task<Results<Accepted<TurnView>, Ok<TurnView>>> AnswerAsync(
        ISessionGrain session, string sessionId, string ownerId, TurnView turn, bool? wait, int? timeout)
    {
        if (wait == true)
        {
            turn = await session.WaitForTurn(ownerId, turn.TurnId, TimeSpan.FromSeconds(timeout ?? DefaultWaitSeconds));
            if (turn.Status.IsFinished()) return TypedResults.Ok(turn);
        }
        return TypedResults.Accepted($"/api/sessions/{sessionId}/turns/{turn.TurnId}", turn);
    }
}
