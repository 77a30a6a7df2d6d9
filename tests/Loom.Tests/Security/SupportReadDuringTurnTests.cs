using System.Net;
using Loom.Tests.Api;

namespace Loom.Tests.Security;

/// <summary>A support read that arrives while a turn runs (about 2 s a turn) is audited after the turn's own entries, never over them.</summary>
public sealed class SupportReadDuringTurnTests(SlowNarratorAppFactory app) : IClassFixture<SlowNarratorAppFactory>
{
    [Fact]
    public async Task A_support_read_during_a_running_turn_keeps_both_the_turns_audit_and_its_own()
    {
        var alice = app.Alice();
        var session = await alice.CreateSessionAsync();
        var submitted = await alice.PostJsonAsync($"/api/sessions/{session}/turns", new { input = "I wait by the mill. [TONE: hushed and wary]" })
            .ExpectAsync(HttpStatusCode.Accepted);
        await alice.PollAsync($"/api/sessions/{session}/turns/{submitted["turnId"].Str()}", t => t["status"].Str() == "running");

        var read = await app.Admin().GetAsync($"/api/admin/sessions/{session}?reason=while%20playing").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("alice", read["ownerId"].Str());
        await alice.PollAsync($"/api/sessions/{session}/turns/{submitted["turnId"].Str()}", t => t["status"].Str() == "completed");

        var audit = await alice.AuditAsync(session);
        Assert.Contains(audit, a => a["action"].Str() == "tone");
        var support = Assert.Single(audit, a => a["action"].Str() == "admin.read");
        Assert.Equal("while playing", support["reason"].Str());
    }
}
