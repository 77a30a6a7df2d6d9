using System.Net;
using System.Net.Http.Json;
using System.Text;
using Loom.Tests.Api;
using Loom.Tests.Canon;

namespace Loom.Tests.Security;

/// <summary>What each role may do: viewers read, players play, authors publish, admins manage keys (and hold every role).</summary>
public sealed class RoleTests(SecurityAppFactory app) : IClassFixture<SecurityAppFactory>
{
    [Fact]
    public async Task A_viewer_reads_but_cannot_create_sessions_publish_or_manage_keys()
    {
        var viewer = app.Viewer();
        await viewer.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        await viewer.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK);
        await viewer.GetAsync("/api/usage").ExpectAsync(HttpStatusCode.OK);
        // A search only reads: the role lets it through and the session check answers (404, not 403).
        await viewer.PostJsonAsync("/api/sessions/nobody/memory/search", new { query = "x" }).ExpectProblemAsync(HttpStatusCode.NotFound);

        await ExpectForbiddenAsync(viewer.PostJsonAsync("/api/sessions", new { worldId = "ember-vale" }), "player");
        await ExpectForbiddenAsync(viewer.PostJsonAsync("/api/sessions/any/turns", new { input = "hello" }), "player");
        await ExpectForbiddenAsync(viewer.DeleteAsync("/api/sessions/any"), "player");
        await ExpectForbiddenAsync(Publish(viewer, "viewer-world"), "author");
        await ExpectForbiddenAsync(viewer.GetAsync("/api/admin/keys"), "admin");
    }

    [Fact]
    public async Task A_player_plays_but_cannot_publish()
    {
        var player = app.Player();
        var session = await player.CreateSessionAsync();
        await player.PlayAsync(session, "I look around.");
        await ExpectForbiddenAsync(Publish(player, "player-world"), "author");
        await ExpectForbiddenAsync(player.PostJsonAsync("/api/admin/keys", new { owner = "x", roles = new[] { "admin" } }), "admin");
    }

    [Fact]
    public async Task An_author_publishes_but_cannot_play_or_manage_keys()
    {
        var author = app.Author();
        await Publish(author, "authors-world").ExpectAsync(HttpStatusCode.Created);
        await ExpectForbiddenAsync(author.PostJsonAsync("/api/sessions", new { worldId = "authors-world" }), "player");
        await ExpectForbiddenAsync(author.GetAsync("/api/admin/keys"), "admin");
    }

    [Fact]
    public async Task An_admin_holds_every_role()
    {
        var admin = app.Root();
        await admin.GetAsync("/api/admin/keys").ExpectAsync(HttpStatusCode.OK);
        await Publish(admin, "admins-world").ExpectAsync(HttpStatusCode.Created);
        await admin.CreateSessionAsync("admins-world");
    }

    [Fact]
    public async Task Configured_keys_without_roles_keep_author_and_player()
    {
        var alice = app.Alice();
        await Publish(alice, "alices-world").ExpectAsync(HttpStatusCode.Created);
        await alice.CreateSessionAsync("alices-world");
        await ExpectForbiddenAsync(alice.GetAsync("/api/admin/keys"), "admin");
    }

    private static Task<HttpResponseMessage> Publish(HttpClient client, string worldId) =>
        client.PutAsync($"/api/worlds/{worldId}", new StringContent(CanonSamples.WorldFile, Encoding.UTF8, "text/markdown"));

    private static async Task ExpectForbiddenAsync(Task<HttpResponseMessage> call, string neededRole)
    {
        var problem = await call.ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("forbidden", problem["code"]!.GetValue<string>());
        Assert.Contains($"'{neededRole}'", problem["detail"]!.GetValue<string>());
    }
}
