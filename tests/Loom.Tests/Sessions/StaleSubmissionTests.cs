using System.Net;
using Loom.Conversations;
using Loom.Errors;
using Loom.Security;
using Loom.Sessions;
using Loom.Tests.Api;
using Loom.Turns;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Sessions;

/// <summary>
/// A submission that reaches its session after the deadline its gateway stamped (it sat in a stopped silo's socket while
/// the client was told 503 and retried with the same key) must not be played again once its key has left the window.
/// </summary>
public sealed class StaleSubmissionTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task A_submission_past_its_deadline_is_refused_unless_its_key_names_a_turn()
    {
        var alice = app.Alice();
        var sessionId = await alice.CreateSessionAsync();
        var session = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(sessionId);
        var past = DateTime.UtcNow - TimeSpan.FromSeconds(1);

        // Played in time, then the same key arrives late (the first attempt, delivered at last): the same turn, nothing new.
        var played = await session.Submit("alice", new TurnSubmission { Input = "I open the door.", IdempotencyKey = "k1", NotAfter = DateTime.UtcNow.AddMinutes(1) });
        var late = await session.Submit("alice", new TurnSubmission { Input = "I open the door.", IdempotencyKey = "k1", NotAfter = past });
        Assert.Equal(played.TurnId, late.TurnId);

        // Late under a key the session does not hold (or no longer does): refused, nothing queued.
        var refused = await Assert.ThrowsAsync<LoomProblemException>(() =>
            session.Submit("alice", new TurnSubmission { Input = "I open the door again.", IdempotencyKey = "k2", NotAfter = past }));
        Assert.Equal(503, refused.Status);
        Assert.Equal("submit_expired", refused.Code);
        Assert.Single((await session.ListTurns("alice", new TurnQuery { Limit = 50 })).Items);

        // Through the gateway a live request meets the deadline it is given.
        await alice.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true", new { input = "I look around." }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, (await session.ListTurns("alice", new TurnQuery { Limit = 50 })).Items.Count);
    }

    [Fact]
    public async Task An_embedded_gateway_stamps_the_deadline_of_its_co_hosted_silo_not_the_client_setting()
    {
        // Loom:Cluster:CallDeadlineSeconds bounds a redis-mode client; an embedded gateway's calls end at the silo's deadline,
        // and a longer stamp would let a late copy of a submission play after the client was told 503.
        await using var embedded = LoomAppFactory.With(null, new Dictionary<string, string?> { ["Loom:Cluster:CallDeadlineSeconds"] = "300" });
        _ = embedded.Server;
        var deadline = embedded.Services.GetRequiredService<Loom.Gateway.Endpoints.SubmitDeadline>();
        Assert.Equal(Loom.Silo.Hosting.SiloHostingExtensions.CallDeadline, deadline.CallDeadline);
        Assert.InRange(deadline.NotAfter() - DateTime.UtcNow, TimeSpan.FromSeconds(39), TimeSpan.FromSeconds(41));
    }

    [Fact]
    public async Task A_chat_request_past_its_deadline_changes_nothing()
    {
        // The OpenAI facade has no idempotency key: a late copy of a request whose client already resent it must not be
        // planned at all (it would replay the input, or regenerate the reply the resend got).
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var request = new ConversationRequest
        {
            Caller = new Caller { OwnerId = "alice", Roles = [LoomRoles.Player] },
            SessionName = "late-chat",
            WorldId = "ember-vale",
            Messages = [new ConversationMessage { Role = "user", Content = "I open the door." }],
        };
        var conversation = grains.GetGrain<IConversationGrain>(request.ConversationKey);
        var target = await conversation.Open(request);
        var session = grains.GetGrain<ISessionGrain>(target.SessionId);

        var refused = await Assert.ThrowsAsync<LoomProblemException>(() =>
            conversation.Continue(request with { NotAfter = DateTime.UtcNow - TimeSpan.FromSeconds(1) }));
        Assert.Equal(503, refused.Status);
        Assert.Equal("submit_expired", refused.Code);
        Assert.Empty((await session.ListTurns("alice", new TurnQuery { Limit = 50 })).Items);

        var step = await conversation.Continue(request with { NotAfter = DateTime.UtcNow.AddMinutes(1) });
        Assert.Equal(ConversationAction.Submitted, step.Action);
        var played = await session.WaitForTurn("alice", step.TurnId, TimeSpan.FromSeconds(30));
        Assert.Equal(TurnStatus.Completed, played.Status);

        // The same messages once more, late: in time they would ask for that reply again (a regenerate); late, nothing.
        refused = await Assert.ThrowsAsync<LoomProblemException>(() =>
            conversation.Continue(request with { NotAfter = DateTime.UtcNow - TimeSpan.FromSeconds(1) }));
        Assert.Equal("submit_expired", refused.Code);
        var after = Assert.Single((await session.ListTurns("alice", new TurnQuery { Limit = 50 })).Items);
        Assert.Equal(TurnStatus.Completed, after.Status);
        Assert.Equal(played.Narrative, after.Narrative);
        Assert.Null(after.Alternatives);
    }
}
