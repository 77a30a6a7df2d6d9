using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Loom.Errors;
using Loom.Events;
using Loom.Interventions;
using Loom.Security;
using Loom.Storage;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Multiplayer;

/// <summary>
/// Members, invites, roles, presence, turn-taking and the side channel of one session. Everything that touches the
/// story goes to the session grain under the owner's id once this grain has checked the member; the session knows
/// nothing of members except the attributed input (and the players block) each turn carries.
/// </summary>
public sealed partial class SessionRoomGrain(
    [PersistentState("room", StorageNames.Provider)] IPersistentState<RoomState> state,
    TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<TurnOptions> turns,
    Microsoft.Extensions.Logging.ILogger<SessionRoomGrain> logger) : Grain, ISessionRoomGrain, IIncomingGrainCallFilter, IMayHoldNothing
{
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(15);
    private readonly List<Watcher> _watchers = [];
    private readonly List<ChatLine> _chat = [];

    private sealed record Watcher(Channel<RoomEvent> Channel, string MemberId);

    private RoomState S => state.State;
    private string SessionId => this.GetPrimaryKeyString();
    private DateTime Now => clock.GetUtcNow().UtcDateTime;
    private ISessionGrain Session => GrainFactory.GetGrain<ISessionGrain>(SessionId);

    /// <summary>A room that was never opened (a solo session, or no session at all) holds nothing: the owner's occasional
    /// room checks (rollback, fork) and probed ids do not keep empty rooms in memory.</summary>
    public Task Invoke(IIncomingGrainCallContext context) => EmptyActivations.InvokeAsync(context, this);

    bool IMayHoldNothing.HoldsNothing => !S.Exists;

    // ---------------------------------------------------------------- access

    public Task<RoomAccess> Resolve(Caller caller, RoomAction action)
    {
        if (!S.Exists) return Task.FromResult(new RoomAccess { ActingOwnerId = caller.OwnerId, Role = MemberRole.Owner });
        var member = RequireMember(caller);
        Authorize(member, action);
        return Task.FromResult(new RoomAccess { ActingOwnerId = S.OwnerId, Shared = true, Role = member.Role });
    }

    public async Task Record(Caller caller, string action, string? detail)
    {
        if (!S.Exists) return;
        RequireMember(caller);
        Audit(caller.OwnerId, action, detail);
        await state.WriteStateAsync();
    }

    // ---------------------------------------------------------------- turns

    public async Task<TurnView> Submit(Caller caller, TurnSubmission submission)
    {
        // No room: a solo session (its owner's turns normally go there directly; the session checks the owner).
        if (!S.Exists) return await Session.Submit(caller.OwnerId, submission);
        var member = RequireMember(caller);
        Authorize(member, RoomAction.Play);
        CheckInput(member, submission.Input);
        if (S.Mode == TurnMode.Round && submission.IdempotencyKey is { } key && key == S.RoundPlayedKey && member.MemberId == S.RoundPlayedBy)
        {
            // A retry of the submit that advanced the round: the session answers it from its key (or refuses another
            // input under it); the round must not move again.
            return await SubmitAsAsync(member, submission.Input, key, submission.NotAfter);
        }
        CheckTurnTaking(member);
        var turn = await SubmitAsAsync(member, submission.Input, submission.IdempotencyKey, submission.NotAfter);
        if (S.Mode == TurnMode.Round)
        {
            AdvanceRound();
            (S.RoundPlayedBy, S.RoundPlayedKey) = (member.MemberId, submission.IdempotencyKey);
            await state.WriteStateAsync();
            PublishRoom(RoomEventTypes.TurnNext);
        }
        return turn;
    }

    public Task CheckPlay(Caller caller, string input)
    {
        if (!S.Exists) return Task.CompletedTask;
        var member = RequireMember(caller);
        Authorize(member, RoomAction.Play);
        CheckInput(member, input);
        CheckTurnTaking(member);
        return Task.CompletedTask;
    }

    /// <summary>409 when the room's mode does not let <paramref name="member"/> play now (host mode, another's round).</summary>
    private void CheckTurnTaking(RoomMember member)
    {
        if (S.Mode == TurnMode.Host && member.Role != MemberRole.Owner)
        {
            throw Problems.Conflict("host_mode", $"{OwnerName()} decides the turns: propose yours with POST /api/sessions/{SessionId}/proposals.");
        }
        if (S.Mode == TurnMode.Round && CurrentRound() is { } current && current.MemberId != member.MemberId)
        {
            throw Problems.Conflict("not_your_turn", $"It is {current.DisplayName}'s turn ({current.MemberId}); wait for it, or ask them to pass.");
        }
    }

    public async Task<RoomView> Pass(Caller caller)
    {
        var member = RequireRoom(caller);
        if (S.Mode != TurnMode.Round) throw Problems.Conflict("not_round_mode", "Only round mode has turns to pass.");
        var current = CurrentRound();
        if (current?.MemberId != member.MemberId && member.Role != MemberRole.Owner)
        {
            throw Problems.Conflict("not_your_turn", $"It is {current?.DisplayName}'s turn ({current?.MemberId}); only they or the owner can pass it.");
        }
        AdvanceRound();
        Audit(caller.OwnerId, "turn.pass", current?.MemberId);
        await state.WriteStateAsync();
        PublishRoom(RoomEventTypes.TurnNext);
        return View(member);
    }

    public async Task<Proposal> Propose(Caller caller, string input)
    {
        var member = RequireRoom(caller);
        Authorize(member, RoomAction.Play);
        if (S.Mode != TurnMode.Host) throw Problems.Conflict("not_host_mode", "Proposals are for host mode; submit the turn instead.");
        CheckInput(member, input);
        if (S.Proposals.Count >= RoomLimits.MaxProposals)
        {
            throw Problems.TooMany("proposals_full", $"{RoomLimits.MaxProposals} proposals are already waiting for the host.", 5);
        }
        var proposal = new Proposal { ProposalId = "p" + RandomNumberGenerator.GetHexString(12, lowercase: true), MemberId = member.MemberId, Input = input, CreatedAt = Now };
        S.Proposals.Add(proposal);
        await state.WriteStateAsync();
        Publish(new RoomEvent { Type = RoomEventTypes.Proposal, Proposal = proposal });
        return proposal;
    }

    public Task<List<Proposal>> ListProposals(Caller caller)
    {
        RequireRoom(caller);
        return Task.FromResult(S.Proposals.ToList());
    }

    public async Task<TurnView> Accept(Caller caller, string proposalId, string? editedInput)
    {
        RequireOwner(caller);
        var proposal = FindProposal(proposalId);
        var proposer = S.Members.FirstOrDefault(m => m.MemberId == proposal.MemberId)
            ?? throw Problems.Conflict("proposer_gone", "The member who proposed this has left; reject it.");
        if (proposer.Role == MemberRole.Spectator)
            throw Problems.Conflict("proposer_spectator", "The member who proposed this only watches now; reject it, or make them a player again.");
        var input = string.IsNullOrWhiteSpace(editedInput) ? proposal.Input : editedInput;
        var turn = await SubmitAsAsync(proposer, input, "proposal:" + proposal.ProposalId);
        S.Proposals.Remove(proposal);
        Audit(caller.OwnerId, "proposal.accept", $"{proposal.ProposalId} by {proposal.MemberId}{(input == proposal.Input ? "" : " (edited)")} -> {turn.TurnId}");
        await state.WriteStateAsync();
        Publish(new RoomEvent { Type = RoomEventTypes.Proposal, Proposal = proposal, ProposalOutcome = turn.TurnId });
        return turn;
    }

    public async Task Reject(Caller caller, string proposalId)
    {
        RequireOwner(caller);
        var proposal = FindProposal(proposalId);
        S.Proposals.Remove(proposal);
        Audit(caller.OwnerId, "proposal.reject", $"{proposal.ProposalId} by {proposal.MemberId}");
        await state.WriteStateAsync();
        Publish(new RoomEvent { Type = RoomEventTypes.Proposal, Proposal = proposal, ProposalOutcome = null });
    }

    // ---------------------------------------------------------------- room and members

    public async Task<RoomView> Get(Caller caller)
    {
        if (!S.Exists)
        {
            // A solo session: its owner sees a room of one; anyone else gets the session's 404.
            await Session.GetInfo(caller.OwnerId);
            return new RoomView { SessionId = SessionId, OwnerId = caller.OwnerId, Members = [OwnerMember(caller.OwnerId)], YourRole = MemberRole.Owner };
        }
        return View(RequireMember(caller));
    }

    public async Task<RoomView> Configure(Caller caller, RoomSettings settings)
    {
        // Every argument is checked before the room opens: a refused first call must not leave the session marked shared.
        if (settings.RoundTimeoutSeconds is < 0 or > RoomLimits.MaxRoundTimeoutSeconds)
        {
            throw Problems.Invalid("roundTimeoutSeconds", $"roundTimeoutSeconds must be 0 (no timeout) to {RoomLimits.MaxRoundTimeoutSeconds}.");
        }
        if (settings.Mode is { } asked && !Enum.IsDefined(asked)) throw Problems.Invalid("mode", "mode must be free, round or host.");
        if (settings.Policy is { } p)
        {
            foreach (var (field, value) in new[] { ("interventions", p.Interventions), ("rollback", p.Rollback), ("fork", p.Fork), ("worldEdits", p.WorldEdits) })
            {
                if (!RolePolicies.IsValid(value)) throw Problems.Invalid($"policy.{field}", $"policy.{field} must be owner or player.");
            }
        }
        await OpenAsync(caller);
        if (settings.Policy is { } policy) S.Policy = policy;
        if (settings.Mode is { } mode && mode != S.Mode)
        {
            S.Mode = mode;
            S.RoundMember = null;
            S.RoundSince = Now;
        }
        if (settings.RoundTimeoutSeconds is { } timeout && timeout != S.RoundTimeoutSeconds)
        {
            // Time already spent counted under the old timeout: the round restarts from whoever holds it now.
            S.RoundMember = CurrentRound()?.MemberId;
            S.RoundSince = Now;
            S.RoundTimeoutSeconds = timeout;
        }
        Audit(caller.OwnerId, "room.configure", $"mode={S.Mode.ToString().ToLowerInvariant()} timeout={S.RoundTimeoutSeconds}");
        await state.WriteStateAsync();
        PublishRoom(RoomEventTypes.Members);
        return View(Owner());
    }

    public async Task<RoomInvite> Invite(Caller caller, MemberRole role, TimeSpan validFor)
    {
        if (role is not (MemberRole.Player or MemberRole.Spectator)) throw Problems.Invalid("role", "role must be player or spectator.");
        if (validFor <= TimeSpan.Zero || validFor > RoomLimits.MaxInviteLifetime)
        {
            throw Problems.Invalid("expiresInMinutes", $"expiresInMinutes must be 1 to {RoomLimits.MaxInviteLifetime.TotalMinutes:0}.");
        }
        await OpenAsync(caller); // only once the arguments hold: a refused first call must not leave the session marked shared
        S.Invites.RemoveAll(i => i.ExpiresAt <= Now);
        var invite = new RoomInvite
        {
            Code = RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyz23456789", 12),
            SessionId = SessionId,
            Role = role,
            CreatedAt = Now,
            ExpiresAt = Now + validFor,
        };
        await GrainFactory.GetGrain<IInviteGrain>(invite.Code).Register(SessionId, invite.ExpiresAt);
        S.Invites.Add(invite);
        Audit(caller.OwnerId, "invite.create", $"{invite.Code} as {role.ToString().ToLowerInvariant()} until {invite.ExpiresAt:O}");
        await state.WriteStateAsync();
        return invite;
    }

    public Task<List<RoomInvite>> ListInvites(Caller caller)
    {
        if (!S.Exists) return Task.FromResult(new List<RoomInvite>());
        RequireOwner(caller);
        return Task.FromResult(S.Invites.Where(i => i.ExpiresAt > Now).ToList());
    }

    public async Task RevokeInvite(Caller caller, string code)
    {
        RequireOwner(caller);
        if (S.Invites.RemoveAll(i => i.Code == code) == 0) throw Problems.NotFound("Invite", code);
        await GrainFactory.GetGrain<IInviteGrain>(code).Revoke();
        Audit(caller.OwnerId, "invite.revoke", code);
        await state.WriteStateAsync();
    }

    public async Task<RoomView> Join(Caller caller, string code, string displayName, string? persona)
    {
        var invite = S.Invites.FirstOrDefault(i => i.Code == code && i.ExpiresAt > Now) ?? throw Problems.NotFound("Invite", code);
        if (S.Blocked.Contains(caller.OwnerId)) throw Problems.NotPermitted("The session's owner has blocked you from it.");
        if (caller.OwnerId == S.OwnerId) return View(Owner());
        if (S.Members.FirstOrDefault(m => m.MemberId == caller.OwnerId) is { } existing) return View(existing);
        if (S.Members.Count >= RoomLimits.MaxMembers) throw Problems.Conflict("room_full", $"The session already has {RoomLimits.MaxMembers} members.");
        var member = new RoomMember
        {
            MemberId = caller.OwnerId,
            DisplayName = CheckName(displayName),
            Persona = CheckPersona(persona),
            Role = invite.Role,
            JoinedAt = Now,
        };
        S.Members.Add(member);
        Audit(caller.OwnerId, "member.join", $"{member.DisplayName} as {member.Role.ToString().ToLowerInvariant()} (invite {code})");
        await state.WriteStateAsync();
        await ListForAsync(member);
        PublishRoom(RoomEventTypes.Members);
        return View(member);
    }

    public async Task<RoomMember> UpdateMember(Caller caller, string memberId, MemberPatch patch)
    {
        var me = RequireRoom(caller);
        var targetId = memberId == "me" ? me.MemberId : memberId;
        var index = S.Members.FindIndex(m => m.MemberId == targetId);
        if (index < 0) throw Problems.NotFound("Member", memberId);
        var target = S.Members[index];
        if ((patch.DisplayName is not null || patch.Persona is not null) && target.MemberId != me.MemberId)
        {
            throw Problems.NotPermitted("Members set their own display name and persona.");
        }
        if (patch.Role is { } role && role != target.Role)
        {
            if (me.Role != MemberRole.Owner) throw Problems.NotPermitted("Only the session's owner changes roles.");
            if (target.Role == MemberRole.Owner || role == MemberRole.Owner) throw Problems.Invalid("role", "role must be player or spectator, and the owner stays the owner.");
            Audit(caller.OwnerId, "member.role", $"{target.MemberId}: {target.Role.ToString().ToLowerInvariant()} -> {role.ToString().ToLowerInvariant()}");
            if (role == MemberRole.Spectator) PassRoundFrom(target.MemberId);
            target = target with { Role = role };
        }
        if (patch.DisplayName is not null) target = target with { DisplayName = CheckName(patch.DisplayName) };
        if (patch.Persona is not null) target = target with { Persona = CheckPersona(patch.Persona) };
        var roleChanged = S.Members[index].Role != target.Role;
        S.Members[index] = target;
        await state.WriteStateAsync();
        if (roleChanged) await ListForAsync(target);
        PublishRoom(RoomEventTypes.Members);
        return target with { Online = IsOnline(target.MemberId) };
    }

    public async Task RemoveMember(Caller caller, string memberId, bool block)
    {
        var me = RequireRoom(caller);
        var targetId = memberId == "me" ? me.MemberId : memberId;
        if (targetId != me.MemberId && me.Role != MemberRole.Owner) throw Problems.NotPermitted("Only the session's owner removes other members.");
        if (targetId == S.OwnerId) throw Problems.Conflict("owner_stays", "The owner cannot leave their own session; delete it instead.");
        PassRoundFrom(targetId);
        var removed = S.Members.RemoveAll(m => m.MemberId == targetId) > 0;
        if (block && me.Role == MemberRole.Owner && !S.Blocked.Contains(targetId)) S.Blocked.Add(targetId);
        else if (!removed) throw Problems.NotFound("Member", memberId);
        S.Proposals.RemoveAll(p => p.MemberId == targetId);
        Audit(caller.OwnerId, targetId == me.MemberId ? "member.leave" : block ? "member.block" : "member.kick", targetId);
        await state.WriteStateAsync();
        if (removed) await GrainFactory.GetGrain<IOwnerGrain>(targetId).Leave(SessionId);
        // Their open streams end now: a kicked member stops seeing the story at once.
        foreach (var w in _watchers.Where(w => w.MemberId == targetId).ToList())
        {
            _watchers.Remove(w);
            w.Channel.Writer.TryComplete();
        }
        PublishRoom(RoomEventTypes.Members);
    }

    public async Task Close(string ownerId)
    {
        if (!S.Exists) return;
        if (S.OwnerId != ownerId) throw Problems.NotFound("Session", SessionId);
        var members = S.Members.Where(m => m.Role != MemberRole.Owner).Select(m => m.MemberId).ToList();
        var invites = S.Invites.Select(i => i.Code).ToList();
        // The room goes first: once its state is cleared nobody acts through it, even if a list entry below is left.
        await state.ClearStateAsync();
        state.State = new RoomState();
        _chat.Clear();
        foreach (var w in _watchers) w.Channel.Writer.TryComplete();
        _watchers.Clear();
        // Sent now, not awaited: the session waits on this call, and an invite's Join or a member's owner grain may
        // itself be waiting on the session. An invite left registered leads to a room with no invites (404); a list
        // entry left behind names a session that answers 404.
        var tidying = Task.WhenAll(invites.Select(code => GrainFactory.GetGrain<IInviteGrain>(code).Revoke())
            .Concat(members.Select(member => GrainFactory.GetGrain<IOwnerGrain>(member).Leave(SessionId))));
        _ = tidying.ContinueWith(t => LogTidyFailed(t.Exception!, SessionId), CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Current);
    }

    // ---------------------------------------------------------------- side channel, audit, events

    public Task<ChatLine> Say(Caller caller, string text)
    {
        var member = RequireRoom(caller);
        if (member.Role == MemberRole.Spectator) throw Problems.NotPermitted("The side channel is for players; spectators only watch.");
        if (string.IsNullOrWhiteSpace(text) || text.Length > RoomLimits.MaxChatText)
        {
            throw Problems.Invalid("text", $"text must be 1 to {RoomLimits.MaxChatText} characters.");
        }
        var line = new ChatLine { MemberId = member.MemberId, DisplayName = member.DisplayName, Text = text.Trim(), At = Now };
        _chat.Add(line);
        if (_chat.Count > RoomLimits.ChatBuffer) _chat.RemoveAt(0);
        Publish(new RoomEvent { Type = RoomEventTypes.Chat, Chat = line });
        return Task.FromResult(line);
    }

    public Task<List<ChatLine>> ListChat(Caller caller)
    {
        var member = RequireRoom(caller);
        if (member.Role == MemberRole.Spectator) throw Problems.NotPermitted("The side channel is for players; spectators only watch.");
        return Task.FromResult(_chat.ToList());
    }

    public Task<List<RoomAuditEntry>> ListAudit(Caller caller)
    {
        if (!S.Exists) return Task.FromResult(new List<RoomAuditEntry>());
        RequireOwner(caller);
        return Task.FromResult(S.Audit.ToList());
    }

    public async IAsyncEnumerable<RoomEvent> Watch(Caller caller, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var member = RequireRoom(caller);
        var channel = Channel.CreateBounded<RoomEvent>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var watcher = new Watcher(channel, member.MemberId);
        var cameOnline = !IsOnline(member.MemberId);
        _watchers.Add(watcher);
        if (cameOnline) PublishRoom(RoomEventTypes.Members);
        try
        {
            yield return new RoomEvent { Type = RoomEventTypes.Heartbeat };
            await foreach (var ev in channel.Reader.ReadWithHeartbeatsAsync(HeartbeatEvery, () => new RoomEvent { Type = RoomEventTypes.Heartbeat }, cancellationToken))
            {
                yield return ev;
            }
        }
        finally
        {
            // Runs when the stream ends, is cancelled, or Orleans drops an enumerator its gateway stopped reading.
            if (_watchers.Remove(watcher) && !IsOnline(member.MemberId)) PublishRoom(RoomEventTypes.Members);
        }
    }

    // ---------------------------------------------------------------- helpers

    private async Task<TurnView> SubmitAsAsync(RoomMember member, string input, string? idempotencyKey, DateTime? notAfter = null) =>
        await Session.Submit(S.OwnerId, new TurnSubmission
        {
            Input = Attributed(member, input),
            Words = input,
            IdempotencyKey = idempotencyKey,
            NotAfter = notAfter,
            Speaker = member.MemberId,
            Players = Cast(),
        });

    /// <summary>Who plays, for the narrator: names and personas of everyone who may act (spectators are not in the story).</summary>
    private string Cast()
    {
        var lines = new StringBuilder();
        foreach (var m in S.Members.Where(m => m.Role != MemberRole.Spectator))
        {
            lines.Append("- ").Append(m.DisplayName);
            if (!string.IsNullOrWhiteSpace(m.Persona)) lines.Append(": ").Append(m.Persona.Trim().ReplaceLineEndings(" "));
            lines.Append('\n');
        }
        return lines.ToString();
    }

    /// <summary>How a member's words enter the story: after their display name.</summary>
    private static string Attributed(RoomMember member, string input) => $"{member.DisplayName}: {input}";

    /// <summary>
    /// A member's input as the story will hold it: within the session's input limit, and free of out-of-story markers
    /// unless the policy lets the member use them. The attributed text is checked, not the words alone: a display name
    /// such as "(OOC" would otherwise turn "the traitor is Alice.)" into a marker.
    /// </summary>
    private void CheckInput(RoomMember member, string? input)
    {
        if (string.IsNullOrWhiteSpace(input)) throw Problems.Invalid("input", "input must not be empty.");
        var attributed = Attributed(member, input);
        if (attributed.Length > turns.Value.MaxInputChars)
            throw Problems.Invalid("input", $"input must be at most {turns.Value.MaxInputChars - (attributed.Length - input.Length)} characters here (your name comes before it; got {input.Length}).");
        CheckInterventions(member, attributed);
    }

    private void CheckInterventions(RoomMember member, string input)
    {
        if (member.Role == MemberRole.Owner || S.Policy.Interventions == RolePolicies.Player) return;
        if (InterventionParser.Parse(input).Interventions.Count > 0)
        {
            throw Problems.Forbidden("intervention_not_allowed", "Only the session's owner may use out-of-story markers ((OOC: …), [EDIT: …], [RETCON: …], …) here.");
        }
    }

    private void Authorize(RoomMember member, RoomAction action)
    {
        if (member.Role == MemberRole.Owner || action == RoomAction.Read) return;
        if (member.Role == MemberRole.Spectator)
        {
            throw Problems.NotPermitted("Spectators watch the story; they cannot play or change it.");
        }
        var policy = action switch
        {
            RoomAction.Play => RolePolicies.Player,
            RoomAction.Intervene => S.Policy.Interventions,
            RoomAction.Rollback => S.Policy.Rollback,
            RoomAction.Fork => S.Policy.Fork,
            RoomAction.WorldEdit => S.Policy.WorldEdits,
            _ => RolePolicies.Owner,
        };
        if (policy != RolePolicies.Player)
        {
            throw Problems.NotPermitted($"In this session only the owner may {action switch
            {
                RoomAction.Rollback => "roll back",
                RoomAction.Fork => "fork",
                RoomAction.WorldEdit => "edit the world's memory",
                _ => "use interventions",
            }}.");
        }
    }

    /// <summary>The caller's membership; 404 (as for an unknown session) when they are not a member.</summary>
    private RoomMember RequireMember(Caller caller) =>
        S.Members.FirstOrDefault(m => m.MemberId == caller.OwnerId) ?? throw Problems.NotFound("Session", SessionId);

    private RoomMember RequireRoom(Caller caller) =>
        S.Exists ? RequireMember(caller) : throw Problems.NotFound("Session", SessionId);

    private RoomMember RequireOwner(Caller caller)
    {
        var member = RequireRoom(caller);
        if (member.Role != MemberRole.Owner) throw Problems.NotPermitted("Only the session's owner may do this.");
        return member;
    }

    /// <summary>The first invite or setting makes a solo session shared; only its owner can (the session checks).</summary>
    private async Task OpenAsync(Caller caller)
    {
        if (S.Exists)
        {
            RequireOwner(caller);
            return;
        }
        // The session learns it is shared first, so no turn can skip the room once members exist. Should this room's write
        // then fail, the session refuses direct turns (409 shared_session) until the owner's next invite opens the room again.
        await Session.MarkShared(caller.OwnerId);
        S.Exists = true;
        S.OwnerId = caller.OwnerId;
        S.Members = [OwnerMember(caller.OwnerId)];
        S.RoundSince = Now;
    }

    /// <summary>The member's own session list shows this session, with their role (GET /api/sessions).</summary>
    private Task ListForAsync(RoomMember member) =>
        GrainFactory.GetGrain<IOwnerGrain>(member.MemberId).Join(new OwnedSession
        {
            SessionId = SessionId,
            CreatedAt = member.JoinedAt,
            SharedBy = S.OwnerId,
            Role = member.Role,
        });

    private RoomMember OwnerMember(string ownerId) => new() { MemberId = ownerId, DisplayName = ownerId, Role = MemberRole.Owner, JoinedAt = Now };

    private RoomMember Owner() => S.Members.First(m => m.Role == MemberRole.Owner);

    private string OwnerName() => Owner().DisplayName;

    private Proposal FindProposal(string proposalId) =>
        S.Proposals.FirstOrDefault(p => p.ProposalId == proposalId) ?? throw Problems.NotFound("Proposal", proposalId);

    /// <summary>Round mode: who may play now. Timeouts are applied on read, so no timer is needed for correctness.</summary>
    private RoomMember? CurrentRound()
    {
        var players = S.Members.Where(m => m.Role != MemberRole.Spectator).ToList();
        if (players.Count == 0) return null;
        var index = Math.Max(0, players.FindIndex(m => m.MemberId == S.RoundMember));
        if (S.RoundTimeoutSeconds > 0)
        {
            var skipped = (long)((Now - S.RoundSince).TotalSeconds / S.RoundTimeoutSeconds);
            index = (int)((index + skipped) % players.Count);
        }
        return players[index];
    }

    /// <summary>Round mode: a member who stops playing (leaves, is removed, becomes a spectator) while it is their turn
    /// hands it to the next player, not back to the first.</summary>
    private void PassRoundFrom(string memberId)
    {
        if (S.Mode != TurnMode.Round || CurrentRound()?.MemberId != memberId) return;
        AdvanceRound();
        PublishRoom(RoomEventTypes.TurnNext);
    }

    private void AdvanceRound()
    {
        var players = S.Members.Where(m => m.Role != MemberRole.Spectator).ToList();
        var current = CurrentRound();
        if (current is null || players.Count == 0) return;
        S.RoundMember = players[(players.FindIndex(m => m.MemberId == current.MemberId) + 1) % players.Count].MemberId;
        S.RoundSince = Now;
    }

    private bool IsOnline(string memberId) => _watchers.Any(w => w.MemberId == memberId);

    private RoomView View(RoomMember caller) => new()
    {
        SessionId = SessionId,
        OwnerId = S.OwnerId,
        Mode = S.Mode,
        RoundTimeoutSeconds = S.RoundTimeoutSeconds,
        Policy = S.Policy,
        Members = S.Members.Select(m => m with { Online = IsOnline(m.MemberId) }).ToList(),
        CurrentTurn = S.Mode == TurnMode.Round ? CurrentRound()?.MemberId : null,
        YourRole = caller.Role,
    };

    private void PublishRoom(string type) => Publish(new RoomEvent { Type = type, Room = View(Owner()) with { YourRole = default } });

    private void Publish(RoomEvent ev)
    {
        var roles = S.Members.ToDictionary(m => m.MemberId, m => m.Role);
        foreach (var w in _watchers)
        {
            // The side channel is for players: spectators never receive it.
            if (ev.Type == RoomEventTypes.Chat && roles.GetValueOrDefault(w.MemberId, MemberRole.Spectator) == MemberRole.Spectator) continue;
            w.Channel.Writer.TryWrite(ev);
        }
    }

    private void Audit(string actor, string action, string? detail)
    {
        S.Audit.Add(new RoomAuditEntry { At = Now, Actor = actor, Action = action, Detail = detail });
        if (S.Audit.Count > RoomLimits.AuditEntries) S.Audit.RemoveRange(0, S.Audit.Count - RoomLimits.AuditEntries);
    }

    private static string CheckName(string? name)
    {
        var trimmed = name?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > RoomLimits.MaxDisplayName || trimmed.Any(char.IsControl) || trimmed.Contains(':'))
        {
            throw Problems.Invalid("displayName", $"displayName must be 1 to {RoomLimits.MaxDisplayName} characters, without ':' or control characters.");
        }
        return trimmed;
    }

    private static string? CheckPersona(string? persona)
    {
        if (persona is { Length: > RoomLimits.MaxPersona }) throw Problems.Invalid("persona", $"persona must be at most {RoomLimits.MaxPersona} characters.");
        return string.IsNullOrWhiteSpace(persona) ? null : persona.Trim();
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning,
        Message = "Session {SessionId}: after its room closed, revoking its invites or removing it from members' lists failed")]
    private partial void LogTidyFailed(Exception ex, string sessionId);
}
