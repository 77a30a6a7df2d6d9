using System.Net;
using System.Text;
using Loom.Gateway.Auth;
using Loom.Tests.Api;

namespace Loom.Tests.Security;

/// <summary>Keys in the database through /api/admin/keys and the `keys` command: create, use, list, revoke, expire.</summary>
public sealed class DatabaseKeyTests(SecurityAppFactory app) : IClassFixture<SecurityAppFactory>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_created_key_works_at_once_is_listed_without_its_secret_and_stops_working_after_revocation()
    {
        var admin = app.Root();
        var created = await admin.PostJsonAsync("/api/admin/keys", new { owner = "dora", roles = new[] { "player" }, name = "dora's laptop" })
            .ExpectAsync(HttpStatusCode.Created);
        var key = created["key"]!.GetValue<string>();
        var keyId = created["keyId"]!.GetValue<string>();
        Assert.StartsWith("loom_", key);
        Assert.Equal(key[..12], created["prefix"]!.GetValue<string>());
        Assert.Equal("root", created["createdBy"]!.GetValue<string>());

        var dora = app.ClientFor(key);
        var session = await dora.CreateSessionAsync();
        await dora.GetAsync($"/api/sessions/{session}").ExpectAsync(HttpStatusCode.OK);
        await app.Alice().GetAsync($"/api/sessions/{session}").ExpectProblemAsync(HttpStatusCode.NotFound);
        await dora.PutAsync("/api/worlds/doras", new StringContent("x", Encoding.UTF8, "text/markdown")).ExpectProblemAsync(HttpStatusCode.Forbidden);

        // Listed and fetched without the key; the use was recorded (off the request path, so wait for it).
        var listed = await admin.GetAsync("/api/admin/keys?owner=dora").ExpectAsync(HttpStatusCode.OK);
        var entry = Assert.Single(listed["items"]!.AsArray(), k => k!["keyId"]!.GetValue<string>() == keyId)!;
        Assert.Null(entry["key"]);
        Assert.DoesNotContain(key, listed.ToJsonString());
        Assert.DoesNotContain(CallerResolver.Hash(key), listed.ToJsonString());
        await admin.PollAsync($"/api/admin/keys/{keyId}", k => k["lastUsedAt"] is not null, Deadline);

        await admin.DeleteAsync($"/api/admin/keys/{keyId}").ExpectAsync(HttpStatusCode.NoContent);
        await admin.DeleteAsync($"/api/admin/keys/{keyId}").ExpectAsync(HttpStatusCode.NoContent); // idempotent
        var revoked = await admin.GetAsync($"/api/admin/keys/{keyId}").ExpectAsync(HttpStatusCode.OK);
        Assert.NotNull(revoked["revokedAt"]);
        await WaitForUnauthorizedAsync(dora, "/api/sessions");
    }

    [Fact]
    public async Task An_open_event_stream_ends_once_its_key_is_revoked_and_sends_nothing_more()
    {
        var admin = app.Root();
        async Task<(string Key, string Id)> KeyAsync()
        {
            var created = await admin.PostJsonAsync("/api/admin/keys", new { owner = "erin", roles = new[] { "player" } }).ExpectAsync(HttpStatusCode.Created);
            return (created["key"]!.GetValue<string>(), created["keyId"]!.GetValue<string>());
        }
        var (watching, watchingId) = await KeyAsync();
        var (playing, _) = await KeyAsync(); // erin's other device
        var player = app.ClientFor(playing);
        var session = await player.CreateSessionAsync();

        var viewer = app.ClientFor(watching);
        viewer.Timeout = Timeout.InfiniteTimeSpan;
        using var response = await viewer.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{session}/events"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sse = new SseReader(new StreamReader(await response.Content.ReadAsStreamAsync()));
        await player.PostJsonAsync($"/api/sessions/{session}/turns", new { input = "I light the lamp." }).ExpectAsync(HttpStatusCode.Accepted);
        await sse.UntilAsync("turn.completed", Deadline);

        await admin.DeleteAsync($"/api/admin/keys/{watchingId}").ExpectAsync(HttpStatusCode.NoContent);
        await WaitForUnauthorizedAsync(viewer, "/api/sessions");
        await player.PlayAsync(session, "I step into the dark.");
        // The next event the stream would send finds the key revoked: the stream ends without it.
        var after = new List<SseReader.Event>();
        while (await sse.NextAsync(Deadline) is { } ev) after.Add(ev);
        Assert.DoesNotContain(after, e => e.Type.StartsWith("turn.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        var admin = app.Root();
        var created = await admin.PostJsonAsync("/api/admin/keys",
            new { owner = "eve", roles = new[] { "viewer" }, expiresAt = DateTimeOffset.UtcNow.AddSeconds(3) }).ExpectAsync(HttpStatusCode.Created);
        var eve = app.ClientFor(created["key"]!.GetValue<string>());
        await eve.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        await WaitForUnauthorizedAsync(eve, "/api/worlds");
    }

    [Theory]
    [InlineData("""{"roles":["player"]}""", 400, "owner")]
    [InlineData("""{"owner":"has space","roles":["player"]}""", 400, "owner")]
    // The example worlds' owner: a key acting as it skipped the world quota and could not change its own worlds.
    [InlineData("""{"owner":"system","roles":["author"]}""", 400, "owner")]
    [InlineData("""{"owner":"System","roles":["author"]}""", 400, "owner")]
    [InlineData("""{"owner":"ok","roles":[]}""", 400, "roles")]
    [InlineData("""{"owner":"ok"}""", 400, "roles")]
    [InlineData("""{"owner":"ok","roles":["root"]}""", 400, "roles")]
    [InlineData("""{"owner":"ok","roles":["player",null]}""", 400, "roles")] // was stored, and every request with it was a 500
    [InlineData("""{"owner":"ok","roles":["viewer"],"name":"x\u001b[2J\nk123 active"}""", 400, "name")]
    [InlineData("""{"owner":"ok","roles":["player"],"expiresAt":"2001-01-01T00:00:00Z"}""", 422, "expiresAt")]
    [InlineData("""{"owner":"ok","roles":"player"}""", 400, null)]
    public async Task Bad_key_requests_get_clear_problems(string body, int status, string? field)
    {
        var response = await app.Root().PostAsync("/api/admin/keys", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await Task.FromResult(response).ExpectProblemAsync((HttpStatusCode)status);
        if (field is not null) Assert.NotNull(problem["errors"]?[field]);
        // Nothing stored for the owner asked for.
        var owner = System.Text.Json.Nodes.JsonNode.Parse(body)?["owner"]?.GetValue<string>() ?? "ok";
        var all = await app.Root().GetAsync("/api/admin/keys?owner=" + Uri.EscapeDataString(owner)).ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(all["items"]!.AsArray());
    }

    [Fact]
    public async Task Unknown_keys_and_cursors_are_404_and_400()
    {
        await app.Root().GetAsync("/api/admin/keys/knothere").ExpectProblemAsync(HttpStatusCode.NotFound);
        await app.Root().DeleteAsync("/api/admin/keys/knothere").ExpectProblemAsync(HttpStatusCode.NotFound);
        await app.Root().GetAsync("/api/admin/keys?after=knothere").ExpectProblemAsync(HttpStatusCode.BadRequest);
        await app.Root().GetAsync("/api/admin/keys?limit=0").ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_list_pages_oldest_first()
    {
        var admin = app.Root();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var created = await admin.PostJsonAsync("/api/admin/keys", new { owner = "pager", roles = new[] { "viewer" } }).ExpectAsync(HttpStatusCode.Created);
            ids.Add(created["keyId"]!.GetValue<string>());
        }
        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await admin.GetAsync("/api/admin/keys?owner=pager&limit=2" + (after is null ? "" : "&after=" + after)).ExpectAsync(HttpStatusCode.OK);
            seen.AddRange(page["items"]!.AsArray().Select(k => k!["keyId"]!.GetValue<string>()));
            after = page["next"]?.GetValue<string>();
        } while (after is not null);
        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task Keys_are_hashed_at_rest()
    {
        var created = await app.Root().PostJsonAsync("/api/admin/keys", new { owner = "hashed", roles = new[] { "viewer" } }).ExpectAsync(HttpStatusCode.Created);
        var key = created["key"]!.GetValue<string>();
        await app.ClientFor(key).GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        var bytes = await ReadSharedAsync(Path.Combine(app.DataDirectory, "loom.db"));
        foreach (var file in Directory.GetFiles(app.DataDirectory, "loom.db*"))
        {
            var content = Encoding.Latin1.GetString(await ReadSharedAsync(file));
            Assert.DoesNotContain(key, content);
            Assert.DoesNotContain(key[12..], content);
        }
        Assert.NotEmpty(bytes);
    }

    [Fact]
    public async Task The_keys_command_creates_lists_and_revokes_through_the_admin_api()
    {
        using var handler = app.Server.CreateHandler();
        var env = new Dictionary<string, string?> { [KeysCommand.ApiKeyVariable] = SecurityAppFactory.RootKey, [KeysCommand.UrlVariable] = "http://localhost" };
        var (code, output, error) = await KeysAsync(["create", "--owner", "cli-user", "--roles", "player,viewer", "--name", "from the cli"], env, handler);
        Assert.True(code == KeysCommand.Success, error);
        var key = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("loom_", StringComparison.Ordinal));
        await app.ClientFor(key).GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK);

        (code, output, error) = await KeysAsync(["list", "--owner", "cli-user"], env, handler);
        Assert.True(code == KeysCommand.Success, error);
        var line = Assert.Single(output.Split('\n'), l => l.Contains("cli-user", StringComparison.Ordinal));
        Assert.Contains("player,viewer", line);
        Assert.Contains("active", line);
        Assert.DoesNotContain(key, output);
        var keyId = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];

        (code, _, error) = await KeysAsync(["revoke", keyId], env, handler);
        Assert.True(code == KeysCommand.Success, error);
        await WaitForUnauthorizedAsync(app.ClientFor(key), "/api/sessions");

        // Without an admin key, or with a non-admin one, the command says what the gateway answered.
        (code, _, error) = await KeysAsync(["list"], new() { [KeysCommand.UrlVariable] = "http://localhost" }, handler);
        Assert.Equal(KeysCommand.Usage, code);
        Assert.Contains(KeysCommand.ApiKeyVariable, error);
        (code, _, error) = await KeysAsync(["list"], new() { [KeysCommand.ApiKeyVariable] = SecurityAppFactory.PlayerKey }, handler);
        Assert.Equal(KeysCommand.Failure, code);
        Assert.Contains("403", error);
    }

    private static async Task<(int Code, string Output, string Error)> KeysAsync(string[] args, Dictionary<string, string?> env, HttpMessageHandler handler)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await KeysCommand.RunAsync(args, new StringReader(""), output, error, name => env.GetValueOrDefault(name), handler);
        return (code, output.ToString(), error.ToString());
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Revocation and expiry reach the gateway within its key cache time (2 s): wait for the 401, with a deadline.</summary>
    internal static async Task WaitForUnauthorizedAsync(HttpClient client, string path)
    {
        var response = await WaitForStatusAsync(client, path, HttpStatusCode.Unauthorized);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
    }

    internal static async Task<HttpResponseMessage> WaitForStatusAsync(HttpClient client, string path, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + Deadline;
        HttpResponseMessage response;
        do
        {
            response = await client.GetAsync(path);
            if (response.StatusCode == status) return response;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        Assert.Fail($"{path} still answered {(int)response.StatusCode} after {Deadline}");
        return response;
    }
}
