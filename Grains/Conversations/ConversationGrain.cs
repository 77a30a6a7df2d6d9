using Loom.Errors;
using Loom.Multiplayer;
using Loom.Security;
using Loom.Sessions;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.Options;

namespace Loom.Conversations;

/// <summary>
/// Serializes the requests of one OpenAI-style conversation and turns each into session operations
/// (see <see cref="ConversationPlanner"/>). Holds no state of its own: the session's timeline is the truth, so a
/// restart or a move to another silo changes nothing.
/// </summary>
public sealed class ConversationGrain(IOptions<TurnOptions> turns) : Grain, IConversationGrain
{
    private const int PageSize = 200;

    private string SessionId => this.GetPrimaryKeyString();

    private ISessionRoomGrain Room => GrainFactory.GetGrain<ISessionRoomGrain>(SessionId);

    public async Task<ConversationTarget> Open(ConversationRequest request)
    {
        CheckKey(request);
        var session = GrainFactory.GetGrain<ISessionGrain>(SessionId);
        var acting = await ActingOwnerAsync(request);
        SessionInfo info;
        try
        {
            info = await session.GetInfo(acting);
        }
        catch (LoomProblemException e) when (e.Status == 404 && request.SessionId is null)
        {
            // First use of this name: the session is the caller's, playing the model's world. A request its first turn
            // would refuse (messages that end in a reply or hold replies LOOM never wrote, an empty or oversized input)
            // is refused before the session exists, so it leaves nothing behind; an unknown model is named first.
            try
            {
                await GrainFactory.GetGrain<IWorldGrain>(request.WorldId).GetCanon(request.Caller, null, includeFiles: false);
                turns.Value.CheckInput(ConversationPlanner.Plan(request.Messages, [], request.Caller.OwnerId).Input);
                info = await session.Create(new SessionSpec
                {
                    OwnerId = acting,
                    Caller = request.Caller,
                    WorldId = request.WorldId,
                    Name = request.SessionName,
                });
            }
            catch (LoomProblemException unknown) when (unknown.Status == 404)
            {
                // An unknown or private world: to an OpenAI client that is an unknown model.
                throw new LoomProblemException(404, "model_not_found", "Model not found",
                    $"The model 'loom/{request.WorldId}' does not exist or you cannot play it: GET /v1/models lists yours.");
            }
        }
        if (!string.Equals(info.WorldId, request.WorldId, StringComparison.Ordinal))
        {
            throw Problems.Conflict("session_world_mismatch",
                $"Session '{request.SessionName}' plays loom/{info.WorldId}, not loom/{request.WorldId}: use that model or another session.");
        }
        return new ConversationTarget { SessionId = SessionId, ActingOwnerId = acting };
    }

    public async Task<ConversationStep> Continue(ConversationRequest request)
    {
        CheckKey(request);
        // A chat request has no idempotency key: a copy delivered after its client was told 503 (and resent the messages)
        // would be planned against a story that already answered it, as a regenerate or a new turn. It does nothing.
        Problems.ThrowIfSubmitExpired(request.NotAfter);
        var caller = request.Caller;
        var acting = await ActingOwnerAsync(request);
        var member = acting != caller.OwnerId;
        var session = GrainFactory.GetGrain<ISessionGrain>(SessionId);
        var live = await LiveTurnsAsync(session, acting);
        var plan = ConversationPlanner.Plan(request.Messages, live, caller.OwnerId, ownsSession: !member);

        if (plan.AttachTurnId is { } attached)
        {
            return new ConversationStep { SessionId = SessionId, TurnId = attached, Action = plan.Action };
        }
        if (plan.Action == ConversationAction.Regenerated && !member && live.LastOrDefault() is { } last && last.Seq == plan.RollbackToSeq + 1 &&
            await RegenerateAsync(session, acting, last) is { } alternative)
        {
            return new ConversationStep
            {
                SessionId = SessionId, TurnId = alternative.TurnId, Action = plan.Action, AlternativesAfter = (last.Alternatives?.Count ?? 1) + 1,
            };
        }
        if (plan.RollbackToSeq is { } toSeq)
        {
            var reason = plan.Action == ConversationAction.Regenerated
                ? "Reply regenerated in an OpenAI-compatible client."
                : "Earlier messages edited or removed in an OpenAI-compatible client.";
            // A member rewinds only when the room's policy lets their role (403 otherwise), and the room records who did.
            if (member) await Room.Resolve(caller, RoomAction.Rollback);
            // Nor may anyone rewind a shared story for a new turn the room would then refuse (host mode, another's
            // round): the story would lose its turns and gain nothing. A solo session has no room: no check.
            await Room.CheckPlay(caller, plan.Input);
            // Refused with 403 when the world or session forbids retcons, 409 while other turns are pending.
            await session.Rollback(acting, new RollbackRequest { ToSeq = toSeq, Reason = reason });
            if (member) await Room.Record(caller, "rollback", $"to turn {toSeq}: {reason}");
        }
        var submission = new TurnSubmission { Input = plan.Input, NotAfter = request.NotAfter };
        var turn = member ? await Room.Submit(caller, submission) : await SubmitAsync(session, caller, submission);
        return new ConversationStep { SessionId = SessionId, TurnId = turn.TurnId, Action = plan.Action, RolledBackToSeq = plan.RollbackToSeq };
    }

    /// <summary>Whose authority the session is read under: the caller's for a named session (theirs by construction); for a
    /// session given by id, the room decides (404 to a non-member, the owner's authority for a member).</summary>
    private async Task<string> ActingOwnerAsync(ConversationRequest request) =>
        request.SessionId is null ? request.Caller.OwnerId : (await Room.Resolve(request.Caller, RoomAction.Read)).ActingOwnerId;

    /// <summary>
    /// A regenerated reply becomes another alternative of the same turn, kept beside the first (docs/api.md,
    /// alternatives), as swiping does in the client. A shared session takes the older way (rollback and replay
    /// through its room), where turn order and the member's permission are checked: null then.
    /// </summary>
    private async Task<TurnView?> RegenerateAsync(ISessionGrain session, string owner, TurnView last)
    {
        if (last.Speaker is not null) return null; // a shared session's turn (members speak by name)
        try
        {
            return await session.Rework(owner, last.TurnId, new ReworkRequest
            {
                Kind = ReworkKind.Regenerate,
                Reason = "Reply regenerated in an OpenAI-compatible client.",
            });
        }
        catch (LoomProblemException e) when (e.Code == RoomProblems.ThroughRoom)
        {
            return null;
        }
    }

    /// <summary>Straight to the session while it is solo; once shared, through its room like the REST submit, so turn-taking
    /// holds (409 <c>not_your_turn</c> / <c>host_mode</c>) and the input is attributed.</summary>
    private async Task<TurnView> SubmitAsync(ISessionGrain session, Caller caller, TurnSubmission submission)
    {
        try
        {
            return await session.Submit(caller.OwnerId, submission);
        }
        catch (LoomProblemException e) when (e.Code == RoomProblems.ThroughRoom)
        {
            return await GrainFactory.GetGrain<ISessionRoomGrain>(SessionId).Submit(caller, submission);
        }
    }

    /// <summary>The caller may only reach the session its own name derives to, or the one it names by id.</summary>
    private void CheckKey(ConversationRequest request)
    {
        if (request.ConversationKey != SessionId) throw Problems.NotFound("Session", request.SessionName);
    }

    private static async Task<List<TurnView>> LiveTurnsAsync(ISessionGrain session, string owner)
    {
        var turns = new List<TurnView>();
        int? after = null;
        while (true)
        {
            var page = await session.ListTurns(owner, new TurnQuery { AfterSeq = after, Limit = PageSize });
            turns.AddRange(page.Items);
            if (page.Next is null || page.Items.Count == 0) return turns;
            after = page.Items[^1].Seq;
        }
    }
}
